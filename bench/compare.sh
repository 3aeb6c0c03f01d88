#!/usr/bin/env bash
# netplan and Terraform side by side on the same moto server (the anchor's patched moto, with its
# request recorder): apply, no-op plan and destroy of N copies of the seed topology, wall time and API
# calls counted by moto (terraform-anchor/tools/count_calls.py), for each N given (default: 1 20).
#
# usage: bench/compare.sh [N ...]        TOOLS="netplan terraform" (default both)
#        NETPLAN=PATH runs that binary instead of building this checkout
#        KEEP=DIR keeps each phase's log and per-action call breakdown (TOOL-N-PHASE.{log,calls}) in DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR=${ANCHOR:-$ROOT/../shared/terraform-anchor}
COPIES=${*:-1 20}
TOOLS=${TOOLS:-netplan terraform}
BENCH=$(mktemp -d)
trap 'kill $MOTO_PID 2>/dev/null || true; rm -rf "$BENCH"' EXIT

PROFILE=${PROFILE:-release}   # PROFILE=debug skips the ~16-minute release build of the AWS SDK
# NETPLAN=PATH runs that binary (e.g. an older build, to compare) instead of building this checkout.
if [ -z "${NETPLAN:-}" ]; then
  case " $TOOLS " in *" netplan "*)
    if [ "$PROFILE" = release ]; then cargo build --release -q -p netplan; else cargo build -q -p netplan; fi ;;
  esac
  NETPLAN=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/netplan
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
E=http://127.0.0.1:$PORT
# (moto writes its recording file into its working directory: keep it out of the repository)
(cd "$BENCH" && exec env MOTO_ENABLE_RECORDING=1 MOTO_IAM_LOAD_MANAGED_POLICIES=true python3 "$ANCHOR/tools/moto_patched.py" -H 127.0.0.1 -p "$PORT" >"$BENCH/moto.log" 2>&1) &
MOTO_PID=$!
until curl -sf "$E/moto-api/" >/dev/null; do sleep 0.2; done
curl -sf -X POST "$E/moto-api/config" -d '{"lambda": {"use_docker": false}}' >/dev/null

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true

# phase TOOL N PHASE COMMAND...: times one command and counts the API calls moto saw during it.
phase() {
  local tool=$1 n=$2 name=$3; shift 3
  curl -sf -X POST "$E/moto-api/recorder/reset-recording" >/dev/null
  local start end
  start=$(date +%s.%N)
  "$@" >"$BENCH/$tool-$n-$name.log" 2>&1 || { local rc=$?; [ "$name" = plan ] && [ $rc = 2 ] || { echo "$tool $name (N=$n) failed, see below"; tail -20 "$BENCH/$tool-$n-$name.log"; exit 1; }; }
  end=$(date +%s.%N)
  curl -sf "$E/moto-api/recorder/download-recording" >"$BENCH/rec.jsonl"
  local calls
  calls=$(python3 "$ANCHOR/tools/count_calls.py" "$BENCH/rec.jsonl" 0 999999999 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp "$BENCH/$tool-$n-$name.log" "$KEEP/"
    python3 "$ANCHOR/tools/count_calls.py" "$BENCH/rec.jsonl" >"$KEEP/$tool-$n-$name.calls"
  fi
  printf '| %-9s | %3s | %-7s | %8.2f s | %6s |\n' "$tool" "$n" "$name" "$(echo "$end - $start" | bc)" "$calls"
}

netplan_config() { # N copies: a network (IPv6, 2 AZs, NAT per AZ, S3 endpoint) and a function each
  local dir=$1 n=$2
  mkdir -p "$dir/fn"
  printf 'import urllib.request\n\ndef lambda_handler(event, context):\n    return 200\n' >"$dir/fn/lambda_function.py"
  { printf '[stack]\nname = "bench"\nregion = "us-east-1"\n'
    for i in $(seq 0 $((n - 1))); do
      printf '\n[network.n%s]\ncidr = "10.%s.0.0/16"\nipv6 = true\nazs = 2\nnat_gateways = "per_az"\n' "$i" "$i"
      printf '\n[function.f%s]\nnetwork = "network.n%s"\nruntime = "python3.12"\nhandler = "lambda_function.lambda_handler"\nsource = "fn"\ntimeout = 15\nipv6_dual_stack = true\n' "$i" "$i"
    done; } >"$dir/netplan.toml"
}

echo "| tool      |   N | phase   |      wall |  calls |"
echo "|-----------|-----|---------|-----------|--------|"
for n in $COPIES; do
  for tool in $TOOLS; do
    curl -sf -X POST "$E/moto-api/reset" >/dev/null
    # moto builds each service's backend on its first call after a reset: IAM loads AWS's ~1,000
    # managed policies (~1 s), EC2 its region data (~0.5 s). An emulator cost that AWS does not have:
    # pay it here, outside the measured phases, for both tools alike.
    python3 - "$E" <<'PY'
import sys, boto3
c = lambda s: boto3.client(s, endpoint_url=sys.argv[1], region_name="us-east-1")
c("iam").list_policies(MaxItems=1); c("ec2").describe_vpcs(); c("lambda").list_functions()
PY
    case $tool in
      netplan)
        d=$BENCH/netplan-$n; netplan_config "$d" "$n"; cd "$d"
        phase netplan "$n" apply "$NETPLAN" --endpoint-url "$E" apply --auto-approve
        phase netplan "$n" plan "$NETPLAN" --endpoint-url "$E" plan --detailed-exitcode
        phase netplan "$n" destroy "$NETPLAN" --endpoint-url "$E" destroy --auto-approve
        ;;
      terraform)
        d=$BENCH/terraform-$n; mkdir -p "$d"; cp -r "$ANCHOR/scale/." "$d/"; cd "$d"
        python3 "$ANCHOR/tools/build_zip.py" "$d/lambda.zip" >/dev/null
        # shellcheck source=/dev/null
        BENCH=$d source "$ANCHOR/tools/mirror.sh"
        export TF_CLI_CONFIG_FILE=$d/terraformrc TF_IN_AUTOMATION=1
        terraform init -input=false -plugin-dir="$TF_MIRROR" >/dev/null
        vars=(-var "n=$n" -var "endpoint=$E" -var "lambda_zip=$d/lambda.zip" -parallelism=10 -input=false)
        phase terraform "$n" apply terraform apply -auto-approve "${vars[@]}"
        phase terraform "$n" plan terraform plan -detailed-exitcode "${vars[@]}"
        phase terraform "$n" destroy terraform destroy -auto-approve "${vars[@]}"
        ;;
    esac
    cd "$ROOT"
  done
done
