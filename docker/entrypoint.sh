#!/bin/sh
# Container entrypoint for turnpiked.
#
# If a config file is mounted at $TURNPIKE_CONFIG (default /etc/turnpike/turnpike.json) it is used
# as is. Otherwise one is rendered from the environment into $TURNPIKE_RUNTIME_DIR (default
# /run/turnpike) on every start:
#
#   TURNPIKE_REST_SECRETS    required: comma-separated TURN REST secrets (first mints, all verify)
#   TURNPIKE_API_KEYS        optional: "label:key,..." enables the credential endpoint
#   TURNPIKE_REALM           optional: auth.realm (default "turnpike")
#   TURNPIKE_PUBLIC_IP       optional: relay.advertised_address (public IP behind 1:1 NAT)
#   TURNPIKE_RELAY_ADDRESS   optional: relay.address (default: first non-loopback IPv4 of
#                            `hostname -I`)
#   TURNPIKE_RELAY_PORTS     optional: relay port range, default 49160-49200
#   TURNPIKE_LISTEN_ADDRESS  optional: address of the TURN listeners, default 0.0.0.0
#   TURNPIKE_TURN_PORT       optional: UDP and TCP port of the TURN listeners, default 3478
#   TURNPIKE_TLS_CERT/_KEY   optional: PEM chain and key; adds a TLS listener on
#                            TURNPIKE_TLS_PORT (default 443), which also serves HTTPS
#   TURNPIKE_HTTP_ADDRESS    optional: plain-HTTP listener for /healthz and /metrics,
#   TURNPIKE_HTTP_PORT         default 127.0.0.1:9641 (it also answers the credential endpoint,
#                            so do not expose it beyond monitoring)
#   TURNPIKE_CREDENTIALS_HOSTS optional: host names put into the minted ICE URLs, comma-separated
#                            (default: TURNPIKE_PUBLIC_IP, else the relay address)
#   TURNPIKE_CORS_ORIGINS    optional: comma-separated browser origins for the endpoint
#   TURNPIKE_LOG_LEVEL       optional: trace, debug, info (default), warn, error, critical, off
#   TURNPIKE_WORKERS         optional: "workers" (event-loop threads, 0 = one per CPU core).
#                            Left out when unset: the daemon's default applies.
#
# The secrets are not written into the rendered file: turnpiked reads TURNPIKE_REST_SECRETS,
# TURNPIKE_API_KEYS and TURNPIKE_REALM from its environment itself. Logs go to stderr.
#
# Arguments: none or options (e.g. --log-level debug, --check-config) run turnpiked; any other
# command (e.g. `turnpike stun host`, `sh`) is executed instead.
set -eu

die() {
    echo "entrypoint: $*" >&2
    exit 64
}
info() { echo "entrypoint: $*" >&2; }

config=${TURNPIKE_CONFIG:-/etc/turnpike/turnpike.json}
runtime_dir=${TURNPIKE_RUNTIME_DIR:-/run/turnpike}

if [ "$#" -gt 0 ] && [ "$1" = turnpiked ]; then
    shift
elif [ "$#" -gt 0 ]; then
    case $1 in
        -*) ;;
        *) exec "$@" ;;
    esac
fi

# Refuse the placeholders of the example Kubernetes Secret and compose file.
for value in "${TURNPIKE_REST_SECRETS:-}" "${TURNPIKE_API_KEYS:-}"; do
    case $value in
        *REPLACE-ME*) die "TURNPIKE_REST_SECRETS / TURNPIKE_API_KEYS still contain the REPLACE-ME placeholder: set real random values (openssl rand -base64 32)" ;;
    esac
done

# ---- helpers (values are checked, never escaped: anything unexpected is refused) ----

# Plain tokens: IP addresses, host names, origins. No quotes, backslashes, spaces or controls.
check_token() { # name value allowed-extra-chars
    [ -n "$2" ] || die "$1 is empty"
    case $2 in
        *[!A-Za-z0-9.:_$3-]*) die "$1: '$2' contains characters that are not allowed" ;;
    esac
}

check_path() { # name value
    [ -n "$2" ] || die "$1 is empty"
    case $2 in
        /*) ;;
        *) die "$1 must be an absolute path, got '$2'" ;;
    esac
    case $2 in
        *[\"\\]* | *[[:cntrl:]]*) die "$1 contains a quote, backslash or control character" ;;
    esac
    [ -r "$2" ] || die "$1: cannot read $2 (mounted? readable by uid $(id -u)?)"
}

check_port() { # name value
    case $2 in
        '' | *[!0-9]*) die "$1 must be a port number, got '$2'" ;;
    esac
    if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then die "$1 must be 1-65535, got $2"; fi
}

is_ipv4() {
    echo "$1" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$'
}

# "a, b,,c" -> "a","b","c" (JSON array items); each item checked with check_token.
json_list() { # name value allowed-extra-chars
    out=
    old_ifs=$IFS
    IFS=,
    set -f # no globbing of "*" while splitting
    # shellcheck disable=SC2086  # split on commas on purpose
    set -- "$1" "$3" $2
    set +f
    IFS=$old_ifs
    list_name=$1
    extra=$2
    shift 2
    for item in "$@"; do
        item=$(printf '%s' "$item" | tr -d ' \t')
        [ -n "$item" ] || continue
        check_token "$list_name" "$item" "$extra"
        out="$out${out:+, }\"$item\""
    done
    printf '%s' "$out"
}

# ---- a mounted config wins ----

if [ -f "$config" ]; then
    info "using the mounted config $config"
    exec turnpiked --config "$config" "$@"
fi

# ---- render one from the environment ----

secrets=$(printf '%s' "${TURNPIKE_REST_SECRETS:-}" | tr -d ' \t,')
[ -n "$secrets" ] || die "no config at $config and TURNPIKE_REST_SECRETS is not set: set it (comma-separated shared secrets) or mount a config file"

relay_ports=${TURNPIKE_RELAY_PORTS:-49160-49200}
case $relay_ports in
    *[!0-9-]* | -* | *- | *-*-*) die "TURNPIKE_RELAY_PORTS must look like 49160-49200, got '$relay_ports'" ;;
    *-*) ;;
    *) die "TURNPIKE_RELAY_PORTS must look like 49160-49200, got '$relay_ports'" ;;
esac
port_min=${relay_ports%-*}
port_max=${relay_ports#*-}
check_port "TURNPIKE_RELAY_PORTS (first)" "$port_min"
check_port "TURNPIKE_RELAY_PORTS (last)" "$port_max"
[ "$port_min" -le "$port_max" ] || die "TURNPIKE_RELAY_PORTS: $port_min is above $port_max"

relay_address=${TURNPIKE_RELAY_ADDRESS:-}
if [ -z "$relay_address" ]; then
    for candidate in $(hostname -I 2>/dev/null || true); do
        if is_ipv4 "$candidate" && [ "${candidate#127.}" = "$candidate" ]; then
            relay_address=$candidate
            break
        fi
    done
    [ -n "$relay_address" ] || die "cannot detect this host's IPv4 address: set TURNPIKE_RELAY_ADDRESS"
    info "relay.address $relay_address (detected; set TURNPIKE_RELAY_ADDRESS if that is the wrong interface)"
fi
is_ipv4 "$relay_address" || die "TURNPIKE_RELAY_ADDRESS must be an IPv4 address, got '$relay_address'"

public_ip=${TURNPIKE_PUBLIC_IP:-}
if [ -n "$public_ip" ]; then
    is_ipv4 "$public_ip" || die "TURNPIKE_PUBLIC_IP must be an IPv4 address, got '$public_ip'"
fi

listen_address=${TURNPIKE_LISTEN_ADDRESS:-0.0.0.0}
check_token TURNPIKE_LISTEN_ADDRESS "$listen_address" ""
turn_port=${TURNPIKE_TURN_PORT:-3478}
check_port TURNPIKE_TURN_PORT "$turn_port"
http_address=${TURNPIKE_HTTP_ADDRESS:-127.0.0.1}
check_token TURNPIKE_HTTP_ADDRESS "$http_address" ""
http_port=${TURNPIKE_HTTP_PORT:-9641}
check_port TURNPIKE_HTTP_PORT "$http_port"
log_level=${TURNPIKE_LOG_LEVEL:-info}
check_token TURNPIKE_LOG_LEVEL "$log_level" ""
workers=
if [ -n "${TURNPIKE_WORKERS:-}" ]; then
    case $TURNPIKE_WORKERS in
        *[!0-9]*) die "TURNPIKE_WORKERS must be a number, got '$TURNPIKE_WORKERS'" ;;
    esac
    workers="
  \"workers\": $TURNPIKE_WORKERS,"
fi

tls_cert=${TURNPIKE_TLS_CERT:-}
tls_key=${TURNPIKE_TLS_KEY:-}
tls_listener=
tls_section=
if [ -n "$tls_cert" ] || [ -n "$tls_key" ]; then
    check_path TURNPIKE_TLS_CERT "$tls_cert"
    check_path TURNPIKE_TLS_KEY "$tls_key"
    tls_port=${TURNPIKE_TLS_PORT:-443}
    check_port TURNPIKE_TLS_PORT "$tls_port"
    tls_listener=",
    {\"transport\": \"tls\", \"address\": \"$listen_address\", \"port\": $tls_port}"
    tls_section="
  \"tls\": {\"certificate\": \"$tls_cert\", \"private_key\": \"$tls_key\"},"
fi

advertised=
if [ -n "$public_ip" ]; then
    advertised=", \"advertised_address\": \"$public_ip\""
fi

hosts=$(json_list TURNPIKE_CREDENTIALS_HOSTS "${TURNPIKE_CREDENTIALS_HOSTS:-${public_ip:-$relay_address}}" "")
origins=$(json_list TURNPIKE_CORS_ORIGINS "${TURNPIKE_CORS_ORIGINS:-}" "/*")

mkdir -p "$runtime_dir"
rendered=$runtime_dir/turnpike.json
umask 077
cat >"$rendered.tmp" <<JSON
{
  "listeners": [
    {"transport": "udp", "address": "$listen_address", "port": $turn_port},
    {"transport": "tcp", "address": "$listen_address", "port": $turn_port}$tls_listener,
    {"transport": "http", "address": "$http_address", "port": $http_port}
  ],
  "relay": {"address": "$relay_address"$advertised, "port_min": $port_min, "port_max": $port_max},$tls_section
  "credentials": {"hosts": [$hosts], "cors_origins": [$origins]},$workers
  "log": {"level": "$log_level"}
}
JSON
mv "$rendered.tmp" "$rendered"
info "rendered $rendered from the environment (relay $relay_address${public_ip:+ advertised as $public_ip}, ports $port_min-$port_max${tls_cert:+, TLS on ${tls_port:-443}})"

exec turnpiked --config "$rendered" "$@"
