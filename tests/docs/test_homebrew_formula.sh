#!/usr/bin/env bash
# The Homebrew formula parses (ruby -c), declares what homebrew-core expects, and its
# `test do` block passes against the built binary (tests/docs/formula_harness.rb stands in
# for Homebrew). Exit status 77 (skipped) without ruby: scripts/bootstrap installs it; under
# CI=true a missing ruby is a failure (status 1).
# Usage: test_homebrew_formula.sh FORMULA LLMGW
set -uo pipefail

formula=$1
llmgw=$2
if ! command -v ruby >/dev/null 2>&1; then
    echo "SKIP: ruby is not installed (Debian: apt-get install ruby, or scripts/bootstrap)"
    [[ ${CI:-} == true ]] && { echo "FAIL CI=true: a missing tool is a failure"; exit 1; }
    exit 77
fi
ruby -c "$formula" || exit 1

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home XDG_CONFIG_HOME=$home/.config
unset LLMGW_CONFIG PROXY_CONFIG
bin_dir=$(cd "$(dirname "$llmgw")" && pwd)
ruby "$(dirname "$0")/formula_harness.rb" "$formula" "$bin_dir"
