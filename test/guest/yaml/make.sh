#!/usr/bin/env bash
# test/guest/yaml/make.sh: what PyYAML's safe_load (python3-yaml, YAML 1.1 like netplan's and
# cloud-init's loaders) makes of each sample, as <sample>.json, for the YAML subset parser's tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for f in "$here"/*.yaml "$here"/*.cfg; do
  python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), indent=1, sort_keys=True))' "$f" >"$f.json"
done
python3 -c 'import yaml; print("PyYAML", yaml.__version__)' >"$here/versions.txt"
