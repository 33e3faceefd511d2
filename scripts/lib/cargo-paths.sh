# Where cargo puts things, asked from cargo rather than assumed to be
# target/debug: CARGO_TARGET_DIR, a target directory or build target set in
# a cargo config, and --release all move the binaries. Sourced by
# scripts/demo and scripts/test (bash; no python or jq needed).
#
#   target_dir=$(cargo_target_dir)
#   exe=$(cargo_build_example PACKAGE EXAMPLE [more cargo build flags])

# The value of the first string field NAME in the JSON on stdin. Cargo
# writes paths as JSON strings; one with a quote, a backslash or a control
# character (escaped in JSON) is refused rather than decoded.
_cargo_json_path() {
    local name=$1 match
    match=$(grep -o "\"$name\":\"[^\"\\\\]*\"" | head -n 1) || true
    if [[ -z $match ]]; then
        printf 'cargo-paths: cargo reported no plain "%s" path (a path with a quote, a backslash or a control character is not supported)\n' "$name" >&2
        return 1
    fi
    match=${match#\""$name"\":\"}
    printf '%s\n' "${match%\"}"
}

# The workspace's target directory (absolute), as `cargo metadata` says.
cargo_target_dir() {
    local json
    json=$(cargo metadata --format-version 1 --no-deps) || return 1
    _cargo_json_path target_directory <<<"$json"
}

# Builds one example (quietly; diagnostics on stderr) and prints the path
# of its executable, as cargo reports it for that build.
cargo_build_example() {
    local package=$1 example=$2 json
    shift 2
    json=$(cargo build -q -p "$package" --example "$example" \
        --message-format=json-render-diagnostics "$@") || return 1
    # The example is the only artifact of this build with an executable;
    # the libraries and build scripts it depends on have "executable":null.
    _cargo_json_path executable <<<"$json"
}
