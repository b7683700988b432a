# shellcheck shell=bash
# nixos-build-status: the bash library of the original design (docs/library.md).
#
#   source "$(nixos-build-status lib-path)"
#
# Every function but json_escape and json_bool runs `nixos-build-status lib NAME ARGS...`,
# so bash and Python share one implementation.  Conventions:
#   is_* / was_*          return 0 (true) or 1 (false), print nothing
#   *_json, reports       print JSON
#   get_*                 print the value; return 1 (with a message on stderr) when it
#                         cannot be read
#   check_failed_units    print a JSON array of unit names; check_journal_errors a count;
#                         both return 1 (printing [] / 0) when systemd cannot be asked
#   bad arguments         return 3
#
# Sourcing this file only defines functions: it sets no variables and no shell options,
# and nothing in it can exit the calling shell, so scripts running under
# `set -euo pipefail` can source it.  NIXOS_BUILD_STATUS_CMD names the command to run
# (default: nixos-build-status from PATH).

__nixos_build_status_lib() {
    command "${NIXOS_BUILD_STATUS_CMD:-nixos-build-status}" lib "$@"
}

# --- JSON helpers (pure bash: called in loops, they start no process) ---------------------

# json_escape <string>: the string escaped for the inside of a JSON string (no quotes
# added).  Without an argument, standard input is escaped.
json_escape() {
    local LC_ALL=C s c out i
    if (($# > 0)); then s="$1"; else s="$(cat; printf x)"; s="${s%x}"; fi
    s="${s//\\/\\\\}"
    s="${s//\"/\\\"}"
    s="${s//$'\n'/\\n}"
    s="${s//$'\r'/\\r}"
    s="${s//$'\t'/\\t}"
    s="${s//$'\b'/\\b}"
    s="${s//$'\f'/\\f}"
    if [[ "$s" == *[$'\001'-$'\037']* ]]; then
        out=""
        for ((i = 0; i < ${#s}; i++)); do
            c="${s:i:1}"
            if [[ "$c" == [$'\001'-$'\037'] ]]; then
                printf -v c '\\u%04x' "'$c"
            fi
            out+="$c"
        done
        s="$out"
    fi
    printf '%s\n' "$s"
}

# json_bool <value>: "true" for true, yes, y, on, 1 (any case); "false" otherwise.
json_bool() {
    local LC_ALL=C v="${1-}"
    v="${v#"${v%%[![:space:]]*}"}"
    v="${v%"${v##*[![:space:]]}"}"
    case "${v,,}" in
        true | yes | y | on | 1) printf 'true\n' ;;
        *) printf 'false\n' ;;
    esac
}

# --- generation info ----------------------------------------------------------------------

get_current_generation() { __nixos_build_status_lib get_current_generation "$@"; }
get_current_generation_json() { __nixos_build_status_lib get_current_generation_json "$@"; }
get_generation_short() { __nixos_build_status_lib get_generation_short "$@"; }
is_generation_in_sync() { __nixos_build_status_lib is_generation_in_sync "$@"; }

# --- build log helpers --------------------------------------------------------------------

get_last_build_status() { __nixos_build_status_lib get_last_build_status "$@"; }
get_last_build_exit_code() { __nixos_build_status_lib get_last_build_exit_code "$@"; }
was_last_build_successful() { __nixos_build_status_lib was_last_build_successful "$@"; }
get_build_history() { __nixos_build_status_lib get_build_history "$@"; }
get_build_history_summary() { __nixos_build_status_lib get_build_history_summary "$@"; }

# --- error extraction ---------------------------------------------------------------------

extract_nix_errors() { __nixos_build_status_lib extract_nix_errors "$@"; }
extract_build_phase() { __nixos_build_status_lib extract_build_phase "$@"; }

# --- system health ------------------------------------------------------------------------

check_failed_units() { __nixos_build_status_lib check_failed_units "$@"; }
check_journal_errors() { __nixos_build_status_lib check_journal_errors "$@"; }

# --- metadata -----------------------------------------------------------------------------

get_current_commit() { __nixos_build_status_lib get_current_commit "$@"; }
get_current_nixpkgs_rev() { __nixos_build_status_lib get_current_nixpkgs_rev "$@"; }
get_home_manager_generation() { __nixos_build_status_lib get_home_manager_generation "$@"; }

# --- reporting ----------------------------------------------------------------------------

# create_status_report [json|human] [--no-eval] [--verbose]: the full report (default
# json).  Returns 0 whenever a report was printed; the report's exitCode says how the
# system is.
create_status_report() { __nixos_build_status_lib create_status_report "$@"; }

# Exported, so that child bash processes have them too: the design's test suite runs
# `bash -c '[[ $(check_failed_units | jq "length") -eq 0 ]]'`.
export -f __nixos_build_status_lib json_escape json_bool \
    get_current_generation get_current_generation_json get_generation_short \
    is_generation_in_sync get_last_build_status get_last_build_exit_code \
    was_last_build_successful get_build_history get_build_history_summary \
    extract_nix_errors extract_build_phase check_failed_units check_journal_errors \
    get_current_commit get_current_nixpkgs_rev get_home_manager_generation \
    create_status_report
