#!/usr/bin/env bash
# Static checks beyond go vet, as CI runs them: staticcheck (default
# checks; no config, nothing silenced) and govulncheck against the Go
# vulnerability database. The database's own site is not reachable from
# CI, so it is built from the golang.org/x/vulndb module (its data/osv
# entries), pinned below, which the module proxy serves; bump VULNDB to
# refresh it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/goenv.sh

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB=golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018

echo "--- staticcheck"
go run "$STATICCHECK" ./...

echo "--- govulncheck"
osv=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$VULNDB" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/data/osv
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
# The layout govulncheck reads with -db file://: index/db.json,
# index/modules.json (which entries name which module), ID/<id>.json.
python3 - "$osv" "$db" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "index")); os.makedirs(os.path.join(out, "ID"))
modules = {}
for name in sorted(os.listdir(src)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(src, name)) as f:
        entry = json.load(f)
    with open(os.path.join(out, "ID", name), "w") as f:
        json.dump(entry, f)
    for aff in entry.get("affected", []):
        vuln = {"id": entry["id"], "modified": entry["modified"]}
        fixed = [e["fixed"] for r in aff.get("ranges", []) for e in r.get("events", []) if "fixed" in e]
        if fixed:
            vuln["fixed"] = fixed[-1]
        modules.setdefault(aff["package"]["name"], []).append(vuln)
with open(os.path.join(out, "index", "modules.json"), "w") as f:
    json.dump([{"path": p, "vulns": v} for p, v in sorted(modules.items())], f)
with open(os.path.join(out, "index", "db.json"), "w") as f:
    json.dump({"modified": "0001-01-01T00:00:00Z"}, f)
PY
go run "$GOVULNCHECK" -db "file://$db" ./...
