#!/usr/bin/env bash
# Packs the library and the spanattn tool into a temporary folder, installs the tool from there into a
# temporary tool path and runs it, as a user who installs the tool would. Counts as one test for .ci/run:
# the last line is "tool-smoke: Failed: N, Passed: N".
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
feed=$tmp/feed
tools=$tmp/tools

fail() {
  echo "tool-smoke: $*" >&2
  echo "tool-smoke: Failed: 1, Passed: 0"
  exit 1
}

dotnet pack src/SpanAttention -c Release -o "$feed" || fail "dotnet pack src/SpanAttention failed"
dotnet pack src/SpanAttention.Cli -c Release -o "$feed" || fail "dotnet pack src/SpanAttention.Cli failed"

lib=$(cd "$feed" && ls SpanAttention.[0-9]*.nupkg 2>/dev/null)
tool=$(cd "$feed" && ls SpanAttention.Cli.[0-9]*.nupkg 2>/dev/null)
[ -n "$lib" ] || fail "no SpanAttention package in $feed"
[ -n "$tool" ] || fail "no SpanAttention.Cli package in $feed"
version=${tool#SpanAttention.Cli.}
version=${version%.nupkg}
echo "tool-smoke: packed $lib and $tool (version $version)"

# Only the temporary feed: the install must come from the package just built, not from any other source.
cat > "$tmp/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="tool-smoke" value="$feed" />
  </packageSources>
</configuration>
CONFIG
dotnet tool install --tool-path "$tools" --configfile "$tmp/nuget.config" --add-source "$feed" SpanAttention.Cli --version "$version" \
  || fail "dotnet tool install failed"

printed=$("$tools/spanattn" --version) || fail "spanattn --version exited with $?"
echo "spanattn --version: $printed"
case "$printed" in
  "$version"|"$version"+*) ;;
  *) fail "spanattn --version printed '$printed', expected $version" ;;
esac
"$tools/spanattn" --help > "$tmp/help.txt" || fail "spanattn --help exited with $?"
grep -q "translate" "$tmp/help.txt" || fail "spanattn --help does not list the translate command"

echo "tool-smoke: Failed: 0, Passed: 1"
