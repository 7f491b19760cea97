#!/usr/bin/env bash
# Updates src/SpanAttention/PublicAPI.*.txt from a build of the library: every public symbol the analyzer
# reports as undeclared (RS0016) is added to PublicAPI.Unshipped.txt, every declared symbol that is gone
# (RS0017) is removed from both files. With --ship, the Unshipped entries then move to PublicAPI.Shipped.txt.
# Review the diff afterwards: each added line is a public member someone made public.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
lib=src/SpanAttention
shipped=$lib/PublicAPI.Shipped.txt
unshipped=$lib/PublicAPI.Unshipped.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in "$shipped" "$unshipped"; do
  [ -f "$f" ] || printf '#nullable enable\n' >"$f"
done

# A full compile (not incremental: the analyzer reports only when the compiler runs), warnings kept as warnings.
dotnet build "$lib/SpanAttention.csproj" -c Release --no-incremental -p:TreatWarningsAsErrors=false -nologo \
  -clp:NoSummary >"$tmp/build.log" 2>&1 || { grep -E ' error ' "$tmp/build.log" | sort -u; echo "public-api: the build failed"; exit 1; }

symbols() { # RULE: the symbols of that rule's diagnostics, one per line, sorted, unique
  grep -E "warning $1: Symbol '" "$tmp/build.log" | sed -E "s/.*warning $1: Symbol '(.*)' is (not part|part) of the declared.*/\1/" | LC_ALL=C sort -u || true
}
symbols RS0016 >"$tmp/added"
symbols RS0017 >"$tmp/removed"

update() { # FILE: drops removed symbols, adds ADD (a file) when given, keeps "#nullable enable" first
  local file=$1 add=${2:-/dev/null}
  { grep -v '^#nullable enable$' "$file" | grep -vxF -f "$tmp/removed" || true; cat "$add"; } | sed '/^$/d' | LC_ALL=C sort -u >"$tmp/body"
  { echo '#nullable enable'; cat "$tmp/body"; } >"$file"
}
[ -s "$tmp/removed" ] || : >"$tmp/removed"
update "$shipped"
update "$unshipped" "$tmp/added"
echo "public-api: $(wc -l <"$tmp/added") added to $(basename "$unshipped"), $(wc -l <"$tmp/removed") removed"

if [ "${1:-}" = "--ship" ]; then
  grep -v '^#nullable enable$' "$unshipped" >"$tmp/ship" || true
  update "$shipped" "$tmp/ship"
  printf '#nullable enable\n' >"$unshipped"
  echo "public-api: $(wc -l <"$tmp/ship") entries moved to $(basename "$shipped")"
fi
