#!/usr/bin/env bash
# The README's three-line translate, from a fresh console app against the packed library: packs
# src/SpanAttention, creates a console app in a temporary folder (outside the repository, so none of its
# build settings apply), references the package from the pack folder, runs the lines against the test
# fixture model and checks the output. Counts as one test: the last line is "api-smoke: Passed: 1, Failed: 0"
# (exit 0) or "api-smoke: FAILED: why; Passed: 0, Failed: 1" (exit 1), as .ci/run's counter reads them.
set -euo pipefail
[ -n "${API_SMOKE_TRACE:-}" ] && PS4='+ $(date +%T) ' && set -x
repo=$(cd "$(dirname "$0")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
fixture="$repo/tests/SpanAttention.Tests/TestData/models/hi-en-main-905a389.safetensors"
expected="i am eating food"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spanattn-api-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "api-smoke: FAILED: $*; Passed: 0, Failed: 1"; exit 1; }

dotnet pack "$repo/src/SpanAttention/SpanAttention.csproj" -c Release -o "$tmp/feed" --nologo -v quiet >"$tmp/pack.log" 2>&1 \
  || { cat "$tmp/pack.log"; fail "dotnet pack"; }
nupkg=$(find "$tmp/feed" -maxdepth 1 -name 'SpanAttention.[0-9]*.nupkg' | head -n 1)
[ -n "$nupkg" ] || fail "no SpanAttention .nupkg in the pack output"
version=$(basename "$nupkg" .nupkg); version=${version#SpanAttention.}

# The app restores into its own packages folder, so a package packed earlier with the same version is never
# reused; packages already in the user's folder (System.Numerics.Tensors) are found there without a download.
user_packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
mkdir -p "$tmp/app"
cat >"$tmp/app/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config>
    <add key="globalPackagesFolder" value="$tmp/packages" />
  </config>
  <fallbackPackageFolders>
    <add key="user" value="$user_packages" />
  </fallbackPackageFolders>
  <packageSources>
    <clear />
    <add key="local" value="$tmp/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
EOF
cd "$tmp/app"
unset NUGET_PACKAGES
dotnet new console --name SmokeApp --output . --framework net10.0 --no-restore >"$tmp/new.log" 2>&1 || { cat "$tmp/new.log"; fail "dotnet new console"; }
dotnet add package SpanAttention --version "$version" --no-restore >"$tmp/add.log" 2>&1 || { cat "$tmp/add.log"; fail "dotnet add package"; }
cat >Program.cs <<'EOF'
using SpanAttention;

using var model = TranslationModel.Load("demo.safetensors");
string english = model.Translate("मैं खाना खा रहा हूँ");
Console.WriteLine(english);
EOF
cp "$fixture" demo.safetensors
dotnet run -c Release >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "dotnet run"; }
actual=$(tail -n 1 "$tmp/run.log")
[ "$actual" = "$expected" ] || { cat "$tmp/run.log"; fail "expected '$expected', got '$actual'"; }
echo "api-smoke: SpanAttention $version from a fresh console app printed '$actual'"
echo "api-smoke: Passed: 1, Failed: 0"
