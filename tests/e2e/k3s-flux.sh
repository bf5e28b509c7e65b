#!/usr/bin/env bash
# End-to-end test of nixflux's Flux loop on a real cluster (k3s with Flux,
# optionally nix-snapshotter for `nix:0` images). Opt-in: it exits 0 with
# "skipped: <why>" when there is no cluster, no Flux or no image to run.
#
#   NIXFLUX=target/debug/nixflux KUBECONFIG=/etc/rancher/k3s/k3s.yaml \
#   NIXFLUX_E2E_RCLONE_IMAGE='docker.io/rclone/rclone@sha256:...' tests/e2e/k3s-flux.sh
#
# Settings (environment):
#   NIXFLUX                   the binary (default: nixflux on PATH)
#   KUBECONFIG                the cluster (default: ~/.kube/config)
#   NIXFLUX_E2E_RCLONE_IMAGE  pinned rclone image for the in-cluster S3 endpoint (required)
#   NIXFLUX_E2E_IMAGE         pinned app image serving HTTP, `nix:0/nix/store/...` (nix-snapshotter)
#                             or `IMAGE@sha256:...` (required)
#   NIXFLUX_E2E_PORT          its port (default 80); NIXFLUX_E2E_HEALTH its health path (default /)
#   NIXFLUX_E2E_LOCAL_PORT    local port for the port-forward to rclone (default 18080)
#   NIXFLUX_E2E_KEEP=1        leave everything in the cluster at the end
#
# What it does, in the namespace `nixflux-e2e` (apps in `e2e-web`, `e2e-api`):
# bootstrap (pvc mode, Secrets from files) | kubectl apply; publish two apps
# with --kubeconfig --flux-bucket --wait and see them available; change one
# and see it applied; publish a broken image and expect exit 3; restore;
# remove an app: refused by the prune gate (exit 2) without
# --allow-prune-kind Namespace, pruned with it; roll back and see it return.
# The target is bound to the cluster first (`nixflux flux bind`).
set -euo pipefail

skip() {
	echo "skipped: $*"
	exit 0
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() { echo "== $*"; }

NIXFLUX=${NIXFLUX:-nixflux}
NS=nixflux-e2e
NAME=e2e
BUCKET=nixflux-e2e
TARGET=s3://$BUCKET/home
LOCAL_PORT=${NIXFLUX_E2E_LOCAL_PORT:-18080}
IMAGE=${NIXFLUX_E2E_IMAGE:-}
PORT=${NIXFLUX_E2E_PORT:-80}
HEALTH=${NIXFLUX_E2E_HEALTH:-/}
KCFG=${KUBECONFIG:-$HOME/.kube/config}
KCFG=${KCFG%%:*}

# --- Is there anything to test against? ---------------------------------
command -v kubectl >/dev/null || skip "kubectl is not installed"
command -v curl >/dev/null || skip "curl is not installed (it creates the S3 bucket)"
command -v "$NIXFLUX" >/dev/null || skip "no nixflux binary \`$NIXFLUX\` (build it and set NIXFLUX)"
[ -r "$KCFG" ] || skip "no kubeconfig at \`$KCFG\` (set KUBECONFIG)"
kubectl version --request-timeout=5s >/dev/null 2>&1 || skip "kubectl reaches no cluster with \`$KCFG\`"
kubelet=$(kubectl get nodes -o jsonpath='{.items[0].status.nodeInfo.kubeletVersion}' 2>/dev/null || true)
case "$kubelet" in
*k3s*) ;;
*) skip "the cluster is not k3s (kubelet \`${kubelet:-unknown}\`)" ;;
esac
kubectl get crd buckets.source.toolkit.fluxcd.io kustomizations.kustomize.toolkit.fluxcd.io >/dev/null 2>&1 ||
	skip "Flux's CRDs are not installed (flux install)"
kubectl -n flux-system get deploy source-controller kustomize-controller >/dev/null 2>&1 ||
	skip "Flux's source-controller and kustomize-controller are not running in flux-system"
[ -n "${NIXFLUX_E2E_RCLONE_IMAGE:-}" ] ||
	skip "set NIXFLUX_E2E_RCLONE_IMAGE to a pinned rclone image (nix:0/nix/store/... or IMAGE@sha256:...)"
[ -n "$IMAGE" ] ||
	skip "set NIXFLUX_E2E_IMAGE to a pinned image serving HTTP on NIXFLUX_E2E_PORT (e.g. a nix-snapshotter buildImage)"
case "$IMAGE" in
nix:0/*)
	runtime=$(kubectl get nodes -o jsonpath='{.items[0].status.nodeInfo.containerRuntimeVersion}')
	echo "app image is a nix-snapshotter image; node runtime: $runtime"
	;;
esac

# --- Scratch space, cleanup ----------------------------------------------
TMP=$(mktemp -d)
FORWARD_PID=
cleanup() {
	status=$?
	if [ -n "$FORWARD_PID" ]; then kill "$FORWARD_PID" 2>/dev/null || true; fi
	if [ "${NIXFLUX_E2E_KEEP:-}" != 1 ]; then
		# Deleting the Kustomization prunes what it applied; then Flux's side.
		kubectl -n "$NS" delete kustomization "$NAME" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 || true
		kubectl delete namespace "$NS" e2e-web e2e-api --ignore-not-found --wait=false >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
	if [ "$status" = 0 ]; then echo "ok: the Flux loop works end to end"; fi
}
trap cleanup EXIT

# Runs nixflux and checks its exit code.
expect_exit() {
	want=$1
	shift
	set +e
	"$NIXFLUX" "$@" >"$TMP/out.json" 2>"$TMP/err.txt"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		cat "$TMP/err.txt" >&2
		fail "\`nixflux $1\` exited $got, expected $want"
	fi
	sed 's/^/   /' "$TMP/err.txt"
}

# A spec of apps `NAME:REPLICAS[:IMAGE]`.
spec() {
	{
		printf '{"apiVersion":"nixflux/v1alpha1","apps":{'
		sep=
		for app in "$@"; do
			IFS=: read -r name replicas image <<<"$app"
			printf '%s"%s":{"image":"%s","port":%s,"health":"%s","replicas":%s}' \
				"$sep" "$name" "${image:-$IMAGE}" "$PORT" "$HEALTH" "$replicas"
			sep=,
		done
		printf '}}'
	} >"$TMP/spec.json"
}

render() {
	spec "$@"
	rm -rf "$TMP/bundle"
	"$NIXFLUX" render "$TMP/spec.json" --out "$TMP/bundle" --quiet
}

TARGET_ARGS=(--to "$TARGET" --endpoint "http://127.0.0.1:$LOCAL_PORT" --credentials-file "$TMP/credentials")
FLUX_ARGS=(--kubeconfig "$KCFG" --flux-bucket "$NS/$NAME")

# --- Bootstrap -------------------------------------------------------------
step "bootstrap Flux's side in $NS"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
(
	umask 077
	head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/accesskey"
	head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/secretkey"
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$(cat "$TMP/accesskey")" "$(cat "$TMP/secretkey")" >"$TMP/credentials"
	printf 'user = "%s:%s"\n' "$(cat "$TMP/accesskey")" "$(cat "$TMP/secretkey")" >"$TMP/curl.conf"
)
kubectl -n "$NS" create secret generic "$NAME-s3-credentials" \
	--from-file=accesskey="$TMP/accesskey" --from-file=secretkey="$TMP/secretkey" \
	--dry-run=client -o yaml | kubectl apply -f - >/dev/null
"$NIXFLUX" flux bootstrap --to "$TARGET" --namespace "$NS" --name "$NAME" \
	--rclone-image "$NIXFLUX_E2E_RCLONE_IMAGE" --kustomization-timeout 1m --retry-interval 30s |
	kubectl apply -f -
kubectl -n "$NS" rollout status "deploy/$NAME-s3" --timeout=180s

kubectl -n "$NS" port-forward "svc/$NAME-s3" "$LOCAL_PORT:8080" >"$TMP/forward.log" 2>&1 &
FORWARD_PID=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$LOCAL_PORT/" && break
	sleep 0.2
done
# The bucket: a directory of rclone's, created with a signed PUT (the key pair from a file, not argv).
curl -sf -K "$TMP/curl.conf" --aws-sigv4 "aws:amz:us-east-1:s3" -X PUT "http://127.0.0.1:$LOCAL_PORT/$BUCKET" >/dev/null ||
	echo "   (bucket $BUCKET exists already?)"
step "bind the target to this cluster"
expect_exit 0 flux bind "${TARGET_ARGS[@]}" --kubeconfig "$KCFG"

available() {
	kubectl -n "$1" wait --for=condition=Available "deploy/$1" --timeout=60s >/dev/null ||
		fail "Deployment $1/$1 is not available"
}

# --- Publish, change, republish -------------------------------------------
step "publish two apps and wait for Flux"
render e2e-web:1 e2e-api:1
expect_exit 0 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --wait=5m --output json
grep -q '"outcome":"applied"' "$TMP/out.json" || fail "no applied outcome in $(cat "$TMP/out.json")"
available e2e-web
available e2e-api

step "change e2e-web (2 replicas) and see it applied"
render e2e-web:2 e2e-api:1
expect_exit 0 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --wait=5m
[ "$(kubectl -n e2e-web get deploy e2e-web -o jsonpath='{.spec.replicas}')" = 2 ] || fail "replicas not applied"
available e2e-web

# --- Break it --------------------------------------------------------------
step "publish an image that cannot be pulled: Flux fails it, exit 3"
broken="${IMAGE%@*}@sha256:$(printf '0%.0s' $(seq 64))"
case "$IMAGE" in nix:0/*) broken="docker.io/library/busybox:1.36@sha256:$(printf '0%.0s' $(seq 64))" ;; esac
render e2e-web:2 "e2e-api:1:$broken"
expect_exit 3 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --wait=4m --output json
grep -q '"outcome":"failed"' "$TMP/out.json" || fail "no failed outcome in $(cat "$TMP/out.json")"

step "restore the working bundle"
render e2e-web:2 e2e-api:1
expect_exit 0 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --wait=5m
available e2e-api

# --- Prune -----------------------------------------------------------------
step "remove e2e-api: the prune gate refuses its Namespace (exit 2)"
render e2e-web:2
expect_exit 2 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --allow-prune --wait=5m
grep -q "Flux would prune" "$TMP/err.txt" || fail "refused, but not by the prune gate"
step "remove e2e-api with --allow-prune-kind Namespace: Flux prunes it"
expect_exit 0 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --allow-prune \
	--allow-prune-kind Namespace --wait=5m
kubectl wait --for=delete namespace/e2e-api --timeout=120s >/dev/null || fail "e2e-api was not pruned"

# --- Rollback --------------------------------------------------------------
step "roll back: e2e-api returns"
expect_exit 0 rollback "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --wait=5m
available e2e-api
step "publish the configured bundle again: it says it replaces a rollback"
expect_exit 0 publish "$TMP/bundle" "${TARGET_ARGS[@]}" "${FLUX_ARGS[@]}" --allow-prune \
	--allow-prune-kind Namespace --wait=5m
grep -q "was a rollback to generation" "$TMP/err.txt" || fail "publish did not say it replaced a rollback"
