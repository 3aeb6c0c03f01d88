export const handler = async () => {
  const url = process.env.TARGET_URL ?? "https://aws.amazon.com/";
  const response = await fetch(url);
  console.log("Status:", response.status);
  return response.status;
};
