#!/usr/bin/env bash
# Audit the dependencies that ship in dist/ (production only) for known vulnerabilities of
# moderate severity or worse. Exit 0: none found; 1: some found; 2: the audit could not run.
# Needs the registry's audit endpoint, so it needs the network. Usage: scripts/audit.sh
set -uo pipefail
cd "$(dirname "$0")/.."

echo "npm audit --omit=dev --audit-level=moderate (production dependencies: the ones bundled in dist/)"
output=$(npm audit --omit=dev --audit-level=moderate 2>&1)
status=$?
printf '%s\n' "$output"

if [ "$status" -eq 0 ]; then
  echo "audit: OK, no moderate, high or critical vulnerability in the production dependencies."
  exit 0
fi
if grep -qE '^npm (error|ERR!)' <<<"$output"; then
  echo "audit: could not run (see the npm error above; the audit needs the registry)." >&2
  exit 2
fi
echo "audit: FAILED, production dependencies have vulnerabilities of moderate severity or worse." >&2
echo "       Each entry above names the package, the advisory and whether a fixed version exists;" >&2
echo "       update package-lock.json (npm audit fix --omit=dev, or bump the dependency), then" >&2
echo "       rebuild dist/ with npm run build." >&2
exit 1
