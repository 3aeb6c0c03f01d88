import os
import urllib.request


def lambda_handler(event, context):
    url = os.environ.get("TARGET_URL", "https://aws.amazon.com/")
    with urllib.request.urlopen(url, timeout=5) as response:
        status_code = response.getcode()
    print("Status:", status_code)
    return status_code
