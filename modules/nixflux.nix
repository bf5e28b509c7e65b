# services.nixflux: apps declared as NixOS options, rendered by nixflux into a
# bundle (services.nixflux.bundle), published to targets by systemd units on
# every switch.
#
# The options mirror the spec (docs/spec.md) one to one and stay thin: every
# option defaults to null, meaning "nixflux's default", so defaults live in one
# place (the Rust side) and the spec holds exactly what was set. The heavy
# checking (ports, names, images, raw objects) happens when the bundle is
# built; the assertions here catch what the module can see at eval time.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.nixflux;

  # An optional option: null means "leave it to nixflux".
  opt =
    type: description: example:
    mkOption {
      type = types.nullOr type;
      default = null;
      inherit description example;
    };

  # A required option (no default).
  req =
    type: description: example:
    mkOption { inherit type description example; };

  # A package image (e.g. nix-snapshotter's buildImage) becomes a nix:0 reference.
  imageType = types.either types.str types.package;
  toImage = v: if lib.isDerivation v then "nix:0${v}" else v;

  quantity = types.either types.str types.int;
  stringMap = types.attrsOf types.str;

  resourceList = types.submodule {
    # Extended resources by name, e.g. "nvidia.com/gpu" = 1 (whole devices).
    freeformType = types.attrsOf (types.either types.ints.unsigned types.str);
    options = {
      cpu = opt quantity "CPU, as a Kubernetes quantity." "500m";
      memory = opt quantity "Memory, as a Kubernetes quantity." "256Mi";
      ephemeralStorage = opt quantity "Ephemeral storage, as a Kubernetes quantity." "1Gi";
    };
  };

  protocolType = types.enum [
    "TCP"
    "UDP"
    "SCTP"
  ];

  # One end of an allowed connection (networkPolicy.allowFrom / allowTo).
  trafficPeer = types.submodule {
    options = {
      app = opt types.str "Another app, by name." "mosquitto";
      namespace = opt types.str "Pods of this namespace (default with `podLabels`: the app's own)." "monitoring";
      podLabels = opt stringMap "Pods with these labels." { "cnpg.io/cluster" = "ledger-db"; };
      cidr = opt types.str "An address range." "192.168.1.0/24";
      except = opt (types.listOf types.str) "Ranges inside `cidr` left out." [ "192.168.1.1/32" ];
      ports = opt (types.listOf (
        types.oneOf [
          types.port
          types.str
          (types.submodule {
            options = {
              port = req types.port "Port number." 6881;
              protocol = opt protocolType "Protocol (nixflux's default: TCP)." "UDP";
              endPort = opt types.port "Last port of a range." 6889;
            };
          })
        ]
      )) "Ports of the listening side: names of an app's ports, numbers, or { port; protocol; endPort; } (default: all)." [ "http" 5432 ];
    };
  };

  # An env value: a string or one reference (valueFrom).
  keyRef = what: types.submodule {
    options = {
      name = req types.str "The ${what}'s name." "web-config";
      key = req types.str "The key in the ${what}." "mode";
      optional = opt types.bool "Start even when the ${what} or key is missing (nixflux's default: false)." true;
    };
  };
  envValue = types.either types.str (types.submodule {
    options = {
      secretKeyRef = opt (keyRef "Secret") "A key of a Secret." { name = "backup-restic"; key = "password"; };
      configMapKeyRef = opt (keyRef "ConfigMap") "A key of a ConfigMap." { name = "web-config"; key = "mode"; };
      fieldRef = opt (types.submodule {
        options.fieldPath = req types.str "A pod field (Downward API)." "spec.nodeName";
      }) "A field of the pod." { fieldPath = "spec.nodeName"; };
    };
  });
  envMap = types.attrsOf envValue;

  extraContainer = types.submodule {
    options = {
      name = req types.str "Container name, unique in the pod." "log-shipper";
      image = mkOption {
        type = imageType;
        apply = toImage;
        description = "Image reference, a key of `images`, or a nix-snapshotter image package.";
        example = "busybox";
      };
      command = opt (types.listOf types.str) "Container command." [ "/bin/migrate" ];
      args = opt (types.listOf types.str) "Container arguments." [ "--once" ];
      env = opt envMap "Environment variables." { TZ = "Europe/Berlin"; };
      envFromSecrets = opt (types.listOf types.str) "Secrets whose keys become environment variables." [ "web-db" ];
      resources = opt resources "Requests and limits." { limits.memory = "64Mi"; };
      volumes = opt (types.listOf types.str) "The app's volumes this container mounts at their mountPath." [ "logs" ];
    };
  };

  resources = types.submodule {
    options = {
      requests = opt resourceList "Resource requests." { cpu = "50m"; };
      limits = opt resourceList "Resource limits (extended resources such as nvidia.com/gpu by name)." { memory = "256Mi"; };
    };
  };

  probe = types.submodule {
    options = {
      httpGet = opt (types.submodule {
        options = {
          path = req types.str "HTTP path." "/healthz";
          port = opt types.str "A port name of the app (nixflux's default: http)." "metrics";
        };
      }) "An HTTP GET check." { path = "/healthz"; };
      tcpSocket = opt (types.submodule {
        options.port = opt types.str "A port name of the app (nixflux's default: http)." "metrics";
      }) "A TCP connect check." { };
      exec = opt (types.submodule {
        options.command = req (types.listOf types.str) "The command." [ "pg_isready" ];
      }) "A command check." { command = [ "pg_isready" ]; };
      initialDelaySeconds = opt types.ints.unsigned "Seconds before the first check." 5;
      periodSeconds = opt types.ints.positive "Seconds between checks (nixflux's default: 10)." 5;
      timeoutSeconds = opt types.ints.positive "Seconds a check may take." 2;
      failureThreshold = opt types.ints.positive "Failures before the probe fails." 5;
      successThreshold = opt types.ints.positive "Successes before it passes again (readiness only)." 1;
    };
  };

  # --- secrets / databases ---
  # An entry of an External Secrets store (a reference, never a value).
  secretRef = types.submodule {
    options = {
      key = req types.str "The entry's key in the store." "apps/wiki/oidc";
      property = opt types.str "The property of a structured entry." "client-secret";
      store = opt types.str "One of defaults.secretStores (default: defaults.secretStore, or the only one)." "vault";
    };
  };
  # A CloudNativePG Cluster: defaults.postgres, or an app's own.
  postgresCluster = types.submodule {
    options = {
      name = opt types.str "The Cluster's name (nixflux's default: `postgres` shared, `<app>-db` an app's own)." "pg";
      namespace = opt types.str "The shared Cluster's namespace (nixflux's default: postgres; an app's own is in the app's)." "databases";
      instances = opt types.ints.positive "PostgreSQL instances (nixflux's default: 1)." 2;
      storage = req (types.submodule {
        options = {
          size = req quantity "Each instance's volume size." "10Gi";
          storageClass = opt types.str "Storage class of the volumes (default: the cluster's)." "local-path";
        };
      }) "Each instance's volume." { size = "10Gi"; };
      image = req types.str "The PostgreSQL image (`imageName`): a key of `images` or a pinned reference." "postgres";
      allowPrune = opt types.bool "Let Flux prune the Cluster, its volumes and data (nixflux's default: false, `prune: disabled`)." true;
    };
  };
  # Whether the bundle holds a CloudNativePG Cluster (Flux then needs its health expression).
  hasCnpgCluster =
    (cfg.defaults != null && cfg.defaults.postgres != null)
    || lib.any (a: a.database != null && a.database.postgres != null && a.database.postgres.cluster != null) (lib.attrValues cfg.apps)
    || lib.any (o: (o.kind or null) == "Cluster" && lib.hasPrefix "postgresql.cnpg.io/" (o.apiVersion or "")) allObjects;
  # SOPS-encrypted raw objects (a `sops` stanza), passed through for Flux to decrypt.
  sopsObjects = lib.filter (o: o ? sops) allObjects;
  # --- end secrets / databases ---
  # --- helm --- (docs/spec.md, "Helm charts"): `apps.<name>.helm`.
  helmModule = {
    options = {
      repository = req types.str "`https://` chart repository, or `oci://` registry namespace of the chart." "https://grafana.github.io/helm-charts";
      chart = req types.str "The chart's name in the repository (for `oci://`, the artifact is `<repository>/<chart>`)." "grafana";
      version = req types.str "An exact SemVer chart version (`1.2.3`, `v1.2.3`); a range only with `allowVersionRange`." "8.6.4";
      allowVersionRange = opt types.bool "Accept a version range (`^1.2`, `>=1`, `1.x`, `*`): the chart may change while the spec does not (nixflux's default: false)." true;
      sourceKind = opt (types.enum [ "HelmRepository" "OCIRepository" ]) "The Flux source (nixflux's default: HelmRepository for `https://`, OCIRepository for `oci://`)." "HelmRepository";
      releaseName = opt types.str "Helm's release name, at most 53 characters (nixflux's default: the app's name)." "grafana-home";
      interval = opt types.str "How often the release is reconciled (nixflux's default: 10m)." "30m";
      repositoryInterval = opt types.str "How often the repository is checked (nixflux's default: 1h)." "2h";
      secretRef = opt types.str "A Secret with the repository's credentials." "ghcr-charts";
      values = opt types.attrs "The chart's values (JSON, passed through unchanged: a null removes a chart default)." { persistence.enabled = true; };
      valuesFrom = opt (types.listOf (types.submodule {
        options = {
          kind = req (types.enum [ "Secret" "ConfigMap" ]) "Kind of the object holding values." "Secret";
          name = req types.str "Its name, in the app's namespace." "grafana-admin";
          valuesKey = opt types.str "The key holding the values (Flux's default: values.yaml)." "admin.yaml";
          targetPath = opt types.str "Where the key's content goes in the values (default: merged at the top)." "adminPassword";
          optional = opt types.bool "Install even when the object is missing (nixflux's default: false)." true;
        };
      })) "Values read at install time from Secrets or ConfigMaps." [ { kind = "Secret"; name = "grafana-admin"; } ];
      imageValues = opt (types.listOf (types.submodule {
        options = {
          path = req types.str "Dotted value path that receives the image." "image";
          image = mkOption {
            type = imageType;
            apply = toImage;
            description = "A key of `images`, a full pinned reference, or a package built with nix-snapshotter's buildImage.";
            example = "grafana";
          };
          form = opt (types.enum [ "split" "reference" ]) "`split`: `<path>.repository` and `<path>.tag`; `reference`: the whole reference at `<path>` (nixflux's default: split)." "reference";
          registryKey = opt types.str "With `split`: the key that gets the registry host apart (bitnami-style charts)." "registry";
          digestKey = opt types.str "With `split`: the key that gets the digest apart (default: folded into the tag)." "digest";
        };
      })) "Value paths that receive images of `images`, held to the pinning policy." [ { path = "image"; image = "grafana"; } ];
      crds = opt (types.enum [ "Skip" "Create" "CreateReplace" ]) "What Helm does with the chart's CRDs on install and upgrade." "CreateReplace";
      timeout = opt types.str "Timeout of each Helm action." "5m";
    };
  };
  # The spec of an app's `helm`: options cleaned of nulls, `values` as written.
  helmSpec =
    h:
    clean (removeAttrs h [ "values" "_module" ]) // lib.optionalAttrs (h.values != null) { inherit (h) values; };
  # --- end helm ---

  appModule =
    { name, ... }:
    {
      options = {
        enable = opt types.bool "Render this app (nixflux's default: true)." false;
        namespace = opt types.str "Namespace of the app's objects (nixflux's default: the app's name)." "photos";
        createNamespace = opt types.bool "Render the app's Namespace (default: defaults.createNamespaces)." false;
        image = mkOption {
          type = types.nullOr imageType;
          default = null;
          apply = v: if v == null then null else toImage v;
          description = "Image reference, a key of `images`, or a package built with nix-snapshotter's buildImage (becomes `nix:0<store path>`).";
          example = lib.literalExpression ''pkgs.nix-snapshotter.buildImage { name = "web"; config.Cmd = [ "''${pkgs.hello}/bin/hello" ]; }'';
        };
        replicas = opt types.ints.unsigned "Deployment replicas (nixflux's default: 1)." 2;
        port = opt types.port "The container port the app listens on, named `http`." 8080;
        servicePort = opt types.port "The Service port that forwards to `port` (nixflux's default: 80)." 8080;
        extraPorts = opt (types.attrsOf (
          types.submodule {
            options = {
              port = req types.port "Container port." 1900;
              protocol = opt (types.enum [
                "TCP"
                "UDP"
                "SCTP"
              ]) "Protocol (nixflux's default: TCP)." "UDP";
              servicePort = opt types.port "Port on the Service (default: `port`)." 1900;
              hostPort = opt types.port "Also open the port on the node." 1900;
            };
          }
        )) "More container ports, also on the Service." { dlna = { port = 1900; protocol = "UDP"; }; };
        command = opt (types.listOf types.str) "Container command." [ "/bin/server" ];
        args = opt (types.listOf types.str) "Container arguments." [ "--listen" ":8080" ];
        env = opt envMap "Environment variables: strings, or one of `secretKeyRef`, `configMapKeyRef`, `fieldRef`." { TZ = "Europe/Berlin"; };
        envFromSecrets = opt (types.listOf types.str) "Secrets whose keys become environment variables." [ "web-db" ];
        resources = opt resources "Requests and limits." { limits.memory = "256Mi"; };
        health = opt types.str "HTTP path probed on `port` for startup, readiness and liveness." "/healthz";
        ingress = opt (types.submodule {
          options = {
            host = req types.str "Host name." "photos.example.org";
            path = opt types.str "Path prefix (nixflux's default: /)." "/api";
            className = opt types.str "Ingress class (default: defaults.ingressClassName)." "traefik";
            tls = opt routeTls "TLS for the host." { secretName = "photos-tls"; };
            annotations = opt stringMap "Annotations on the Ingress." { "cert-manager.io/cluster-issuer" = "letsencrypt"; };
          };
        }) "An Ingress for `port` (the route named like the app)." { host = "photos.example.org"; };
        routes = opt (types.attrsOf (
          types.submodule {
            options = {
              host = req types.str "Host name." "hooks.example.org";
              path = opt types.str "Path (nixflux's default: /)." "/api/webhook";
              pathType = opt (types.enum [
                "Prefix"
                "Exact"
                "ImplementationSpecific"
              ]) "Path type (nixflux's default: Prefix)." "Exact";
              service = opt types.str "The Service the route reaches (nixflux's default: the app's own)." "immich-ml";
              port = opt (types.either types.str types.port) "The Service's port, by name or number (nixflux's default: http)." "metrics";
              className = opt types.str "Ingress class (default: defaults.ingressClassName)." "traefik";
              tls = opt routeTls "TLS for the host." { secretName = "hooks-tls"; };
              annotations = opt stringMap "Annotations on this route's Ingress." { };
            }
            // traefikRouteOptions;
          }
        )) "More routes, each its own Ingress `<app>-<route>`." { webhooks = { host = "hooks.example.org"; path = "/api/webhook"; }; };
        public = opt types.bool "The app's routes skip defaults.traefik.auth (nixflux's default: false)." true;
        networkPolicy = opt (types.submodule {
          options = {
            profile = opt types.str "Network policy profile (default: defaults.networkPolicyProfile)." "web-app-internal";
            allowFrom = opt (types.listOf trafficPeer) "Who may connect to this app: apps (their egress is opened too), pods of a namespace, address ranges." [
              { app = "immich"; }
            ];
            allowTo = opt (types.listOf trafficPeer) "Where this app may connect: apps (their ingress is opened too), pods of a namespace, address ranges." [
              { app = "immich-ml"; ports = [ "http" ]; }
              { podLabels."cnpg.io/cluster" = "ledger-db"; ports = [ 5432 ]; }
            ];
          };
        }) "Network policy." { profile = "none"; };
        serviceAccount = opt (types.submodule {
          options = {
            automountToken = opt types.bool "Mount the ServiceAccount token (nixflux's default: false)." true;
            annotations = opt stringMap "Annotations on the ServiceAccount." { };
          };
        }) "ServiceAccount settings." { automountToken = true; };
        security = opt (types.submodule {
          options = {
            allowPrivilegeEscalation = opt types.bool "Allow privilege escalation (nixflux's default: false)." true;
            addCapabilities = opt (types.listOf types.str) "Capabilities added back after dropping ALL." [ "NET_RAW" ];
            seccompProfile = opt (types.enum [
              "RuntimeDefault"
              "Unconfined"
            ]) "Pod seccomp profile (nixflux's default: RuntimeDefault)." "Unconfined";
            runAsUser = opt types.int "Pod runAsUser." 1000;
            runAsGroup = opt types.int "Pod runAsGroup." 1000;
            fsGroup = opt types.int "Pod fsGroup." 1000;
            runAsNonRoot = opt types.bool "Pod runAsNonRoot." true;
            readOnlyRootFilesystem = opt types.bool "Container readOnlyRootFilesystem." true;
            privileged = opt types.bool "Containers run privileged; the only way a patch may set privileged (nixflux's default: false)." true;
          };
        }) "Pod and container security settings." { runAsUser = 1000; };
        volumes = opt (types.attrsOf (
          types.submodule {
            options = {
              mountPath = req types.str "Where the volume is mounted." "/data";
              readOnly = opt types.bool "Mount read-only." true;
              subPath = opt types.str "Mount a sub-path of the volume." "app";
              persistentVolumeClaim = opt (types.submodule {
                options = {
                  size = req quantity "Requested storage." "10Gi";
                  storageClassName = opt types.str "Storage class." "local-path";
                  accessMode = opt (types.enum [
                    "ReadWriteOnce"
                    "ReadWriteOncePod"
                    "ReadWriteMany"
                    "ReadOnlyMany"
                  ]) "Access mode (nixflux's default: ReadWriteOnce)." "ReadWriteMany";
                  prune = opt types.bool "Let Flux delete the claim and its data with the app (nixflux's default: false)." true;
                };
              }) "A new claim `<app>-<volume>`." { size = "10Gi"; };
              existingClaim = opt types.str "An existing claim." "shared-data";
              hostPath = opt types.str "A path on the node." "/srv/media";
              emptyDir = opt (types.submodule {
                options = {
                  medium = opt types.str "Medium." "Memory";
                  sizeLimit = opt quantity "Size limit." "64Mi";
                };
              }) "Scratch space." { };
              configMap = opt types.str "A ConfigMap's keys as files." "web-config";
              secret = opt types.str "A Secret's keys as files." "web-tls";
            };
          }
        )) "Volumes mounted into the container." { data = { mountPath = "/data"; emptyDir = { }; }; };
        labels = opt stringMap "Labels on every object and pod of the app." { team = "ops"; };
        annotations = opt stringMap "Annotations on every rendered object of the app." { };
        objects = opt (types.listOf types.attrs) "Raw Kubernetes objects that belong to the app." [ ];
        layer = opt types.str "The layer (one of `services.nixflux.layers`) the app's objects go into (nixflux's default: the last layer)." "infra";
        # Pod settings (docs/spec.md, "Pod settings").
        hostNetwork = opt types.bool "Run the pod on the node's network (no NetworkPolicy applies; `check` says so)." true;
        nodeSelector = opt stringMap "Node labels the pod must run on." { "nvidia.com/gpu.present" = "true"; };
        tolerations = opt (types.listOf (types.submodule {
          options = {
            key = opt types.str "Taint key (absent with Exists: every taint)." "nvidia.com/gpu";
            operator = opt (types.enum [ "Equal" "Exists" ]) "Operator (nixflux's default: Equal)." "Exists";
            value = opt types.str "Taint value (with Equal)." "true";
            effect = opt (types.enum [ "NoSchedule" "PreferNoSchedule" "NoExecute" ]) "Taint effect (absent: every effect)." "NoSchedule";
            tolerationSeconds = opt types.int "With NoExecute: seconds the pod stays." 300;
          };
        })) "Taints the pod tolerates." [ { key = "nvidia.com/gpu"; operator = "Exists"; effect = "NoSchedule"; } ];
        runtimeClassName = opt types.str "RuntimeClass of the pod." "nvidia";
        podAnnotations = opt stringMap "Annotations on the pod template only." { "prometheus.io/scrape" = "true"; };
        imagePullSecrets = opt (types.listOf types.str) "Secrets to pull images with." [ "ghcr-login" ];
        initContainers = opt (types.listOf extraContainer) "Containers run to completion, in order, before the app's." [ ];
        sidecars = opt (types.listOf extraContainer) "Containers beside the app's for the pod's life (native sidecars)." [ ];
        probes = opt (types.submodule {
          options = {
            startup = opt probe "Startup probe (replaces the one from `health`)." { failureThreshold = 60; };
            readiness = opt probe "Readiness probe (replaces the one from `health`)." { tcpSocket = { }; };
            liveness = opt probe "Liveness probe (replaces the one from `health`)." { exec.command = [ "/bin/check" ]; };
          };
        }) "The container's probes." { readiness.tcpSocket = { }; };
        podPatch = opt types.attrs "A PodSpec fragment merged over the rendered pod, then checked (JSON, passed through unchanged)." { terminationGracePeriodSeconds = 60; };
        containerPatch = opt types.attrs "A Container fragment merged over the app's container, then checked (JSON, passed through unchanged)." { lifecycle.preStop.exec.command = [ "/bin/drain" ]; };
        # Jobs (docs/spec.md, "Jobs").
        schedule = opt types.str "A cron schedule: the app renders a CronJob instead of a Deployment." "30 3 * * *";
        job = opt (types.submodule {
          options = {
            concurrencyPolicy = opt (types.enum [ "Allow" "Forbid" "Replace" ]) "Overlapping runs (nixflux's default: Forbid)." "Replace";
            successfulJobsHistoryLimit = opt types.ints.unsigned "Finished jobs kept (nixflux's default: 3)." 7;
            failedJobsHistoryLimit = opt types.ints.unsigned "Failed jobs kept (nixflux's default: 1)." 3;
            startingDeadlineSeconds = opt types.ints.unsigned "A run missed by more is skipped." 3600;
            suspend = opt types.bool "Suspend the schedule (nixflux's default: false)." true;
            timeZone = opt types.str "IANA time zone of the schedule." "Europe/Berlin";
            backoffLimit = opt types.ints.unsigned "Retries of a failed run." 2;
            activeDeadlineSeconds = opt types.ints.positive "Longest a run may take." 3600;
            restartPolicy = opt (types.enum [ "OnFailure" "Never" ]) "The pod's restart policy (nixflux's default: OnFailure)." "Never";
          };
        }) "CronJob settings (only with `schedule`)." { timeZone = "Europe/Berlin"; };
        # --- secrets / databases ---
        secretEnv = opt (types.attrsOf secretRef) "Environment variables from External Secrets store entries (ExternalSecret `<app>-env`)." { OIDC_CLIENT_SECRET = { key = "apps/wiki/oidc"; property = "client-secret"; }; };
        secretFiles = opt (types.attrsOf (types.submodule {
          options = {
            mountPath = req types.str "Where the files are mounted (read-only)." "/etc/wiki/tls";
            files = req (types.attrsOf secretRef) "File name -> store entry." { };
          };
        })) "Volumes of files from store entries (ExternalSecret `<app>-<volume>`)." { tls = { mountPath = "/etc/wiki/tls"; files."ca.crt" = { key = "pki/home"; property = "ca"; }; }; };
        database = opt (types.submodule {
          options.postgres = opt (types.submodule {
            options = {
              name = opt types.str "The database's name (nixflux's default: the app's name)." "git";
              owner = opt types.str "The role owning it (nixflux's default: the app's name)." "gitea";
              cluster = opt postgresCluster "The app's own Cluster (default: the shared defaults.postgres)." { storage.size = "5Gi"; image = "postgres"; };
              password = opt secretRef "On the shared Cluster: the role's password from a store entry (ExternalSecrets `<cluster>-<owner>`)." { key = "postgres/wiki"; property = "password"; };
            };
          }) "A CloudNativePG database with its own role; libpq's PG* variables are set." { };
        }) "Databases of the app." { postgres = { }; };
        # --- end secrets / databases ---
        # --- helm ---
        helm = opt (types.submodule helmModule) "A Helm chart installed by Flux into the app's namespace (a HelmRepository or OCIRepository and a HelmRelease)." {
          repository = "https://grafana.github.io/helm-charts";
          chart = "grafana";
          version = "8.6.4";
        };
      };
    };

  layerModule = {
    options = {
      name = req types.str "The layer's name: its directory under the target prefix and the suffix of its Kustomization." "crds";
      objects = opt (types.listOf types.attrs) "Raw Kubernetes objects of this layer." [ ];
    };
  };

  targetModule =
    { name, config, ... }:
    {
      options = {
        url = req types.str "`s3://BUCKET/PREFIX`, or `dir:///PATH` for a directory." "s3://flux/home";
        endpoint = opt types.str "S3 endpoint URL (`https://host:port`; `http://` for plain HTTP)." "https://s3.lan:9000";
        region = opt types.str "S3 region." "us-east-1";
        credentialsFile = opt types.path "AWS shared credentials file, outside the Nix store (e.g. a colmena key in /run/keys); passed to the unit with LoadCredential." "/run/keys/nixflux-s3";
        credentialsFromEnvironment = mkOption {
          type = types.bool;
          default = false;
          description = "Use the standard AWS credential chain instead of a credentials file.";
        };
        caFile = opt types.path "PEM CA certificates for the endpoint." "/etc/ssl/lan-ca.pem";
        keep = opt types.ints.positive "Generations kept (nixflux's default: 10)." 5;
        maxPrunePercent = opt (types.ints.between 0 100) "Share of live objects a generation may remove (nixflux's default: 50)." 30;
        allowPrune = mkOption {
          type = types.bool;
          default = false;
          description = "Publish even when more than maxPrunePercent of the live objects would be removed.";
        };
        allowEmpty = mkOption {
          type = types.bool;
          default = false;
          description = "Publish even an empty generation.";
        };
        allowDataRemoval = mkOption {
          type = types.bool;
          default = false;
          description = "Publish even when the generation removes objects that hold data (claims, volumes, CloudNativePG clusters, the namespaces holding them).";
        };
        readWritePaths = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "/srv/flux-bucket" ];
          description = "Directories the publish unit may write besides its state directory (`/var/lib/nixflux/<name>`): a `dir://` target elsewhere must be under one of them. Under `DynamicUser` the state directory is reachable by root only, so a directory that `rclone serve s3` running as its own user serves belongs here (created with `systemd.tmpfiles`); the unit writes files 0644 (`UMask=0022`).";
        };
        flux = {
          kubeconfigFile = opt types.path "Kubeconfig of the cluster Flux runs in, outside the Nix store (on a k3s node `/etc/rancher/k3s/k3s.yaml` works); passed to the unit with LoadCredential. With it the unit asks Flux to reconcile right after the switch and can `wait`; the publisher needs only the RBAC that `bootstrap.rbacServiceAccount` or `bootstrap.rbacSubjects` grant." "/run/keys/flux-kubeconfig";
          bucket = opt types.str "The Flux Bucket (NAMESPACE/NAME) that reads this target (default: with `bootstrap.enable`, the Bucket it renders; else nixflux's default, flux-system/nixflux-<prefix> of the `url`)." "flux-system/nixflux-home";
          kustomization = mkOption {
            type = types.nullOr (types.either types.str (types.listOf types.str));
            default = null;
            apply = v: if v == null then [ ] else lib.toList v;
            example = [
              "flux-system/nixflux-home-crds"
              "flux-system/nixflux-home-apps"
            ];
            description = "The Flux Kustomization (NAMESPACE/NAME) that applies this target, or a list of them in apply order (one per layer); `wait` waits for all (default: the Bucket's namespace and name; with `layers`, `<name>-<layer>` for each layer, as `bootstrap` names them).";
          };
          receiver = opt (types.submodule {
            options = {
              url = req types.str "The Receiver's URL: notification-controller's webhook address plus the Receiver's `status.webhookPath`." "http://webhook-receiver.flux-system.svc/hook/0123abcd";
              tokenFile = req types.path "File holding the Receiver's token, outside the Nix store; passed to the unit with LoadCredential." "/run/keys/flux-receiver-token";
            };
          }) "Trigger the reconcile with one signed request to a `generic-hmac` Receiver (no kubeconfig needed). With `kubeconfigFile` as well, the API is used." { url = "http://webhook-receiver.flux-system.svc/hook/0123abcd"; tokenFile = "/run/keys/flux-receiver-token"; };
          wait = opt types.str "Wait this long (a Go duration, e.g. `5m`) for Flux to apply exactly the published revision; the unit, and so `nixos-rebuild switch` (exit 4) and `colmena apply`, fails when Flux fails it or the time runs out. Needs `kubeconfigFile`. null: do not wait." "5m";
          allowPruneKinds = mkOption {
            type = types.listOf types.str;
            default = [ ];
            example = [ "PersistentVolumeClaim" ];
            description = "With `kubeconfigFile`: kinds Flux may prune although protected (PersistentVolumeClaim, PersistentVolume, Namespace, CustomResourceDefinition, Cluster), checked against the Kustomization's live inventory.";
          };
          ignore = opt (types.listOf types.str) "The lines of the Flux Bucket's `spec.ignore`, so the revision a publish prints is the one the Bucket computes (nixflux's default: `generations/`, `nixflux.lock` and `.nixflux-tmp-*`, what its Bucket renders; `[ ]` for a Bucket without `ignore`)." [
            "generations/"
            "nixflux.lock"
            "*.md"
          ];
          # `nixflux flux bootstrap` for this target, run at build time; see docs/flux.md.
          bootstrap = {
            enable = mkOption {
              type = types.bool;
              default = false;
              description = "Render Flux's side of this target (`nixflux flux bootstrap`): Bucket, Kustomization, optional Receiver, the in-cluster `rclone serve s3` and the publisher's RBAC, into `flux.bootstrap.package`.";
            };
            inBundle = mkOption {
              type = types.bool;
              default = false;
              description = "Also put those objects into the bundle this target publishes, so Flux manages its own source. They carry `kustomize.toolkit.fluxcd.io/prune: disabled`: removing them later never deletes them.";
            };
            source = opt types.str "The target as Flux reads it, `s3://BUCKET/PREFIX` (default: `url` when it is `s3://`; required for a `dir://` url in hostpath mode)." "s3://flux/home";
            mode = opt (types.enum [
              "pvc"
              "hostpath"
              "external"
            ]) "Where Flux's S3 endpoint comes from (nixflux's default: external with `endpoint`, else pvc)." "hostpath";
            endpoint = opt types.str "The S3 endpoint Flux reads, for mode external (`https://host:port`)." "https://s3.lan:9000";
            namespace = opt types.str "Flux's namespace (nixflux's default: flux-system)." "flux-system";
            name = opt types.str "Name of the Bucket and Kustomization (nixflux's default: `nixflux-<prefix>`)." "home";
            rcloneImage = opt types.str "Pinned rclone image for modes pvc and hostpath: `nix:0` + a nix-snapshotter image, or `IMAGE@sha256:...`." "nix:0/nix/store/...-nix-image-rclone.tar";
            hostPath = opt types.str "The node directory rclone serves (mode hostpath); the target's `dir://` url lies under it." "/var/lib/nixflux-s3";
            node = opt types.str "The node holding `hostPath` (its `kubernetes.io/hostname`)." "node1";
            storage = opt types.str "Size of the claim rclone serves (mode pvc; nixflux's default: 1Gi)." "5Gi";
            receiver = mkOption {
              type = types.bool;
              default = false;
              description = "Add a `generic-hmac` Receiver for this target.";
            };
            notifierUrl = opt types.str "Add a `generic-hmac` Provider posting to `nixflux notify`'s receiver at this URL, and an Alert sending it every event (severity info) of the namespace's Buckets, Kustomizations, HelmReleases, HelmRepositories, OCIRepositories and GitRepositories; see docs/notify.md." "http://notify.lan:9293/flux";
            notifierSecret = opt types.str "The Provider's HMAC key Secret, key `token` (nixflux's default: `<name>-notifier-hmac`); needs `notifierUrl`." "flux-notifier-hmac";
            sopsSecret = opt types.str "Decrypt SOPS-encrypted objects with the keys in this Secret." "sops-age";
            serviceAccount = opt types.str "The ServiceAccount the Kustomization applies as." "flux-applier";
            rbacServiceAccount = opt types.str "Create this ServiceAccount for the publisher and bind the publisher role to it." "nixflux-publisher";
            rbacSubjects = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [ "user:alice" ];
              description = "Further subjects of the publisher role: `user:NAME`, `group:NAME`, `serviceaccount:NAMESPACE/NAME`.";
            };
            extraArgs = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [ "--interval" "30m" ];
              description = "More `nixflux flux bootstrap` flags (names and durations only: never a secret).";
            };
            package = mkOption {
              type = types.nullOr types.package;
              readOnly = true;
              default = if config.flux.bootstrap.enable then bootstrapDrv name config else null;
              defaultText = lib.literalMD "the rendered objects, when `enable`";
              description = "A directory with one file per object and a `kustomization.yaml` (`kubectl apply -k`).";
            };
          };
        };
      };
    };

  # --- traefik / cert-manager ---
  # defaults.traefik (entrypoints, auth middleware), defaults.tls (issuers,
  # wildcard), and what apps and routes add (public, entryPoints,
  # middlewares, tls.issuer, external.<ns>.middlewares); see docs/spec.md,
  # "Traefik routes and TLS".
  routeTls = types.submodule {
    options = {
      secretName = opt types.str "An existing TLS Secret, or the one the Certificate from `issuer` fills." "hooks-tls";
      issuer = opt types.str "A key of `defaults.tls.issuers`: a Certificate for the host." "letsencrypt";
    };
  };
  traefikRouteOptions = {
    entryPoints = opt (types.listOf types.str) "Traefik entrypoints of the route (nixflux's default: every one of defaults.traefik.entryPoints)." [ "websecure" ];
    middlewares = opt (types.listOf types.str) "Traefik middlewares after the auth one: `name` or `namespace/name`." [ "kube-system/lan-only" ];
  };
  traefikDefaults = types.submodule {
    options = {
      entryPoints = req (types.attrsOf (types.submodule {
        options.tls = opt types.bool "Traefik terminates TLS on this entrypoint (nixflux's default: false)." true;
      })) "The cluster's entrypoints; routes get all of them unless they name a subset." { websecure.tls = true; tunnel = { }; };
      auth = opt (types.submodule {
        options = {
          name = req types.str "The Middleware's name." "sso";
          namespace = opt types.str "Where an existing middleware is (without `forwardAuth`)." "auth";
          forwardAuth = opt (types.submodule {
            options = {
              address = req types.str "The auth server's URL." "http://oauth2-proxy.auth.svc/oauth2/auth";
              trustForwardHeader = opt types.bool "Trust X-Forwarded-* headers (nixflux's default: true)." true;
              authResponseHeaders = opt (types.listOf types.str) "Response headers copied to the request." [ "X-Auth-Request-User" ];
              authSigninUrl = opt types.str "Where to send a user who is not signed in." "https://auth.example.org/oauth2/start";
            };
          }) "Render the middleware (forward auth) into every namespace with a route through it." { address = "http://oauth2-proxy.auth.svc/oauth2/auth"; };
        };
      }) "The auth middleware of every route whose app is not `public`." { name = "sso"; };
    };
  };
  tlsDefaults = types.submodule {
    options = {
      issuers = opt (types.attrsOf (types.submodule {
        options = {
          kind = opt (types.enum [ "ClusterIssuer" "Issuer" ]) "Issuer kind (nixflux's default: ClusterIssuer)." "Issuer";
          namespace = opt types.str "The namespace of an Issuer." "web";
        };
      })) "cert-manager issuers Certificates may name." { letsencrypt = { }; };
      wildcard = opt (types.submodule {
        options = {
          domain = req types.str "The domain: the certificate is for `*.<domain>` and `<domain>`." "home.example.org";
          issuer = req types.str "A key of `issuers`." "letsencrypt";
          secretName = opt types.str "The Certificate and Secret name (nixflux's default: wildcard-tls)." "wildcard-tls";
          namespace = opt types.str "Namespace of the Certificate and TLSStore (default: defaults.ingressControllerNamespace)." "traefik";
        };
      }) "The cluster's wildcard certificate, served by Traefik's default TLSStore." { domain = "home.example.org"; issuer = "letsencrypt"; };
    };
  };
  # --- end traefik / cert-manager ---

  # Drops nulls from option values (not from raw objects or rules).
  clean =
    v:
    if lib.isAttrs v && !lib.isDerivation v then
      lib.mapAttrs (_: clean) (lib.filterAttrs (_: x: x != null) v)
    else if lib.isList v then
      map clean v
    else
      v;

  appSpec =
    app:
    let
      # Raw objects and patches pass through untouched (a patch's null removes a field).
      passed = [ "objects" "podPatch" "containerPatch" ];
      rest = clean (removeAttrs app (passed ++ [ "_module" "helm" ]));
    in
    rest
    // lib.filterAttrs (_: v: v != null) (lib.getAttrs passed app)
    // lib.optionalAttrs (app.helm != null) { helm = helmSpec app.helm; };

  spec = {
    apiVersion = "nixflux/v1alpha1";
  }
  // lib.optionalAttrs (cfg.apps != { }) { apps = lib.mapAttrs (_: appSpec) cfg.apps; }
  // lib.optionalAttrs (cfg.objects != null) { inherit (cfg) objects; }
  // lib.optionalAttrs (cfg.layers != null) {
    layers = map (l: { inherit (l) name; } // lib.optionalAttrs (l.objects != null) { inherit (l) objects; }) cfg.layers;
  }
  // lib.optionalAttrs (cfg.images != null) { images = lib.mapAttrs (_: toImage) cfg.images; }
  // lib.optionalAttrs (cfg.networkPolicyProfiles != null) { inherit (cfg) networkPolicyProfiles; }
  // lib.optionalAttrs (cfg.defaults != null) { defaults = clean cfg.defaults; }
  // lib.optionalAttrs (cfg.vars != null) { inherit (cfg) vars; }
  // lib.optionalAttrs (cfg.external != null) { external = clean cfg.external; }
  // lib.optionalAttrs (cfg.allowUnpinnedImages != null) { inherit (cfg) allowUnpinnedImages; }
  // lib.optionalAttrs (cfg.allowPlaintextSecrets != null) { inherit (cfg) allowPlaintextSecrets; };

  enabledApps = lib.filterAttrs (_: a: a.enable != false) cfg.apps;
  # Every route of the apps: host and path (a host may be shared, a path of it not).
  routeOf = app: r: {
    inherit app;
    inherit (r) host;
    path = if r.path == null then "/" else r.path;
  };
  hosts = lib.concatLists (
    lib.mapAttrsToList (
      n: a:
      lib.optional (a.ingress != null) (routeOf n a.ingress)
      ++ lib.mapAttrsToList (_: routeOf n) (if a.routes == null then { } else a.routes)
    ) enabledApps
  );
  sameRoute = x: y: x.host == y.host && x.path == y.path;
  duplicateHosts = lib.filter (h: builtins.length (lib.filter (sameRoute h) hosts) > 1) hosts;
  inStore = p: p != null && lib.hasPrefix builtins.storeDir (toString p);
  allObjects =
    (if cfg.objects == null then [ ] else cfg.objects)
    ++ lib.concatMap (l: if l.objects == null then [ ] else l.objects) (if cfg.layers == null then [ ] else cfg.layers)
    ++ lib.concatLists (lib.mapAttrsToList (_: a: if a.objects == null then [ ] else a.objects) enabledApps);
  # Kustomize expands any `*List` into its items: nixflux refuses them (its
  # checks see every object on its own), and so does this module, which
  # also looks inside them for secrets.
  isList = o: lib.hasSuffix "List" (toString (o.kind or ""));
  listObjects = lib.filter isList allObjects;
  expandedObjects = lib.concatMap (o: if isList o then (o.items or [ ]) else [ o ]) allObjects;
  plaintextSecrets = lib.filter (
    o: (o.kind or null) == "Secret" && !(o ? sops) && ((o.data or { }) != { } || (o.stringData or { }) != { })
  ) expandedObjects;

  # `nixflux flux bootstrap` flags for a target: names and durations only.
  bootstrapArgs =
    t:
    let
      b = t.flux.bootstrap;
      flag = f: v: lib.optionals (v != null) [ f v ];
    in
    [
      "--to"
      (if b.source != null then b.source else t.url)
    ]
    ++ flag "--mode" b.mode
    ++ flag "--endpoint" b.endpoint
    ++ flag "--namespace" b.namespace
    ++ flag "--name" b.name
    ++ flag "--rclone-image" b.rcloneImage
    ++ flag "--host-path" b.hostPath
    ++ flag "--node" b.node
    ++ flag "--storage" b.storage
    ++ lib.optional b.receiver "--receiver"
    ++ flag "--notifier-url" b.notifierUrl
    ++ flag "--notifier-secret" b.notifierSecret
    ++ flag "--sops-secret" b.sopsSecret
    ++ lib.optional hasCnpgCluster "--health-check-cnpg"
    ++ flag "--service-account" b.serviceAccount
    ++ flag "--rbac-service-account" b.rbacServiceAccount
    ++ lib.concatMap (s: [ "--rbac-subject" s ]) b.rbacSubjects
    # One Kustomization per layer of the bundle, in order.
    ++ lib.concatMap (l: [ "--layer" l.name ]) (if cfg.layers == null then [ ] else cfg.layers)
    ++ b.extraArgs;

  # The objects as a directory, built by nixflux itself (no IFD).
  bootstrapDrv =
    name: t:
    builtins.derivation {
      name = "nixflux-flux-bootstrap-${name}";
      inherit (pkgs.stdenv.hostPlatform) system;
      builder = "${cfg.package}/bin/nixflux";
      args = [
        "flux"
        "bootstrap"
        "--from-env"
        "--quiet"
      ]
      ++ bootstrapArgs t;
      preferLocalBuild = true;
      allowSubstitutes = false;
    };

  # The bundle a target publishes: the module's, or with `inBundle` one
  # that also holds the target's bootstrap objects.
  bundleOf =
    name: t:
    if t.flux.bootstrap.enable && t.flux.bootstrap.inBundle then
      import ../nix/mk-bundle.nix {
        inherit spec;
        nixflux = cfg.package;
        inherit (pkgs.stdenv.hostPlatform) system;
        name = "nixflux-bundle-${name}";
        fluxBootstrapArgs = bootstrapArgs t;
      }
    else
      cfg.bundle;

  # systemd expands `%` and `$` in ExecStart, even quoted.
  systemdEscape = lib.replaceStrings [ "%" "$" ] [ "%%" "$$" ];

  # The name `nixflux flux bootstrap` gives a target's Bucket and
  # Kustomization without `--name` (src/flux/options.rs `default_name`):
  # `nixflux-` and the prefix's segments joined by `-`, or `nixflux`.
  bootstrapName =
    b: source:
    let
      segments = lib.filter (x: x != "") (lib.drop 1 (lib.splitString "/" (lib.removePrefix "s3://" source)));
      joined = lib.stringAsChars (c: if builtins.match "[a-z0-9]" c != null then c else "-") (
        lib.toLower (lib.concatStringsSep "-" segments)
      );
      trimmed = lib.head (builtins.match "-*([^-](.*[^-])?)?-*" joined);
      name = "nixflux-${trimmed}";
    in
    if b.name != null then
      b.name
    else if trimmed == null || builtins.stringLength name > 50 then
      "nixflux"
    else
      name;

  # With a way in (kubeconfig or Receiver), the publish asks Flux to
  # reconcile right after the switch; the Bucket defaults to the one the
  # target's bootstrap renders.
  fluxLoop = t: t.flux.kubeconfigFile != null || t.flux.receiver != null;
  fluxBucket =
    t:
    let
      b = t.flux.bootstrap;
    in
    if t.flux.bucket != null then
      t.flux.bucket
    else if b.enable then
      "${if b.namespace != null then b.namespace else "flux-system"}/${
        bootstrapName b (if b.source != null then b.source else t.url)
      }"
    else
      null;
  fluxArgs =
    t:
    let
      f = t.flux;
      bucket = fluxBucket t;
    in
    lib.optionals (fluxLoop t) (
      lib.optionals (bucket != null) [ "--flux-bucket" bucket ]
      ++ lib.concatMap (k: [ "--flux-kustomization" k ]) f.kustomization
      ++ lib.optionals (f.kubeconfigFile != null) [ "--kubeconfig" "%d/kubeconfig" ]
      ++ lib.optionals (f.receiver != null) [
        "--receiver-url"
        (systemdEscape f.receiver.url)
        "--receiver-token-file"
        "%d/receiver-token"
      ]
      ++ lib.optional (f.wait != null) "--wait=${f.wait}"
      ++ lib.concatMap (k: [ "--allow-prune-kind" k ]) f.allowPruneKinds
    );
  # Go durations as `--wait` reads them.
  isDuration = d: builtins.match "([0-9]+(\\.[0-9]+)?(ms|s|m|h))+" d != null;

  publishArgs =
    name: t:
    [
      "${cfg.package}/bin/nixflux"
      "publish"
      "${bundleOf name t}"
      "--to"
      t.url
    ]
    ++ lib.optionals (t.endpoint != null) [ "--endpoint" t.endpoint ]
    ++ lib.optionals (t.region != null) [ "--region" t.region ]
    ++ lib.optionals (t.credentialsFile != null) [ "--credentials-file" "%d/s3" ]
    ++ lib.optionals (t.caFile != null) [ "--ca-file" "%d/ca" ]
    ++ lib.optionals (t.keep != null) [ "--keep" (toString t.keep) ]
    ++ lib.optionals (t.maxPrunePercent != null) [ "--max-prune-percent" (toString t.maxPrunePercent) ]
    ++ lib.optional t.allowPrune "--allow-prune"
    ++ lib.optional t.allowEmpty "--allow-empty"
    ++ lib.optional t.allowDataRemoval "--allow-data-removal"
    ++ lib.optionals (t.flux.ignore != null) (
      lib.concatMap (p: [
        "--flux-ignore"
        (systemdEscape p)
      ]) (if t.flux.ignore == [ ] then [ "" ] else t.flux.ignore)
    )
    ++ fluxArgs t;

  # The directory a `dir://` target writes, or null for S3.
  dirPath = t: if lib.hasPrefix "dir://" t.url then lib.removePrefix "dir://" t.url else null;
  under = dir: path: path == dir || lib.hasPrefix "${lib.removeSuffix "/" dir}/" path;
  writable =
    name: t:
    let
      path = dirPath t;
    in
    path == null || lib.any (d: under d path) ([ "/var/lib/nixflux/${name}" ] ++ t.readWritePaths);
in
{
  # `services.nixflux.notifier`: the `nixflux notify` daemon.
  imports = [ ./notifier.nix ];

  options.services.nixflux = {
    enable = lib.mkEnableOption "nixflux: render the apps into a bundle and publish it to the targets";
    package = mkOption {
      type = types.package;
      default = pkgs.nixflux;
      defaultText = lib.literalExpression "pkgs.nixflux";
      description = "The nixflux package.";
    };
    apps = mkOption {
      type = types.attrsOf (types.submodule appModule);
      default = { };
      description = "The apps; see docs/spec.md for what each option renders.";
    };
    objects = opt (types.listOf types.attrs) "Raw objects that belong to no app (in the last layer, with `layers`)." [ ];
    layers = opt (types.listOf (types.submodule layerModule)) "Ordered layers, each applied by its own Flux Kustomization after the one before (see docs/flux.md, \"Layers\")." [
      { name = "crds"; objects = [ ]; }
      { name = "apps"; }
    ];
    images = opt (types.attrsOf imageType) "Symbolic image names, applied to every container." { busybox = "nix:0/nix/store/...-nix-image-busybox.tar"; };
    networkPolicyProfiles = opt (types.attrsOf types.attrs) "Custom network policy profiles: `extends` (a profile whose rules this one adds to), `ingress`/`egress` rules (see docs/spec.md)." { media-lan = { extends = "web-app"; ingress = [ ]; }; };
    defaults = opt (types.submodule {
      options = {
        ingressClassName = opt types.str "Ingress class of apps that set none." "traefik";
        networkPolicyProfile = opt types.str "Profile of apps that set none (nixflux's default: web-app)." "web-app-internal";
        ingressControllerNamespace = opt types.str "Namespace of the ingress controller (nixflux's default: kube-system)." "traefik";
        createNamespaces = opt types.bool "Render app Namespaces (nixflux's default: true)." false;
        labels = opt stringMap "Labels on every rendered object." { };
        annotations = opt stringMap "Annotations on every rendered object of the apps." { };
        traefik = opt traefikDefaults "Routes render as Traefik IngressRoutes on these entrypoints." { entryPoints.websecure.tls = true; };
        tls = opt tlsDefaults "cert-manager issuers and the wildcard certificate." { };
        # --- secrets / databases ---
        secretStores = opt (types.attrsOf (types.submodule {
          options = {
            kind = opt (types.enum [ "ClusterSecretStore" "SecretStore" ]) "The store's kind (nixflux's default: ClusterSecretStore)." "SecretStore";
            refreshInterval = opt types.str "How often entries are read again (nixflux's default: 1h)." "15m";
          };
        })) "External Secrets stores apps may read, by name." { vault = { kind = "ClusterSecretStore"; }; };
        secretStore = opt types.str "The store entries read unless they name one (default: the only one declared)." "vault";
        postgres = opt postgresCluster "The shared CloudNativePG Cluster of `database.postgres`." { name = "pg"; namespace = "databases"; storage.size = "10Gi"; image = "postgres"; };
        # --- end secrets / databases ---
      };
    }) "Settings every app inherits." { ingressClassName = "traefik"; };
    vars = opt (types.attrsOf types.str) "Variables substituted into raw objects' strings at render time (`\${NAME}`, `\${NAME:=default}`; `$\${` is a literal `\${`)." { DOMAIN = "home.example.org"; };
    external = opt (types.attrsOf (
      types.submodule {
        options = {
          secrets = opt (types.listOf types.str) "Secrets of this namespace that something outside the bundle creates." [ "immich-db" ];
          configMaps = opt (types.listOf types.str) "ConfigMaps of this namespace created outside the bundle." [ ];
          services = opt (types.listOf types.str) "Services of this namespace created outside the bundle." [ ];
          serviceAccounts = opt (types.listOf types.str) "ServiceAccounts of this namespace created outside the bundle." [ ];
          middlewares = opt (types.listOf types.str) "Traefik Middlewares of this namespace created outside the bundle." [ ];
        };
      }
    )) "Objects, by namespace, that references may name although the bundle does not hold them." { photos.secrets = [ "immich-db" ]; };
    allowUnpinnedImages = opt types.bool "Accept images pinned neither by store path nor digest." true;
    allowPlaintextSecrets = opt types.bool "Accept Secrets with data in the spec (they would enter the Nix store)." true;
    spec = mkOption {
      type = types.attrs;
      readOnly = true;
      default = spec;
      defaultText = lib.literalMD "the spec built from the options";
      description = "The spec the options describe (what `builtins.toJSON` hands to nixflux).";
    };
    bundle = mkOption {
      type = types.package;
      readOnly = true;
      default = import ../nix/mk-bundle.nix {
        inherit spec;
        nixflux = cfg.package;
        inherit (pkgs.stdenv.hostPlatform) system;
      };
      defaultText = lib.literalMD "the rendered bundle";
      description = "The rendered bundle (a store path).";
    };
    targets = mkOption {
      type = types.attrsOf (types.submodule targetModule);
      default = { };
      description = "Where to publish the bundle; one systemd unit `nixflux-publish-<name>` each.";
    };
    nodeImages.enable = mkOption {
      type = types.bool;
      default = false;
      description = "Put the bundle, and so its images' store paths, into this system's closure, so that deploys copy them to the node and its Nix GC keeps them. Enable it on every Kubernetes node.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = duplicateHosts == [ ];
        message = "services.nixflux: path `${(lib.head duplicateHosts).path}` of host `${(lib.head duplicateHosts).host}` is routed by apps ${
          lib.concatMapStringsSep " and " (h: "`${h.app}`") (lib.filter (sameRoute (lib.head duplicateHosts)) hosts)
        }; apps may share a host, but each path of it goes to one backend.";
      }
      {
        assertion = listObjects == [ ];
        message = "services.nixflux: the object `${(lib.head listObjects).metadata.name or "?"}` is a `${(lib.head listObjects).kind}`, whose items kustomize would apply unchecked; put each item into `objects` on its own.";
      }
      {
        assertion = plaintextSecrets == [ ] || cfg.allowPlaintextSecrets == true;
        message = "services.nixflux: the Secret `${(lib.head plaintextSecrets).metadata.name or "?"}` carries data, which would enter the world-readable Nix store; use an ExternalSecret or SOPS, or set services.nixflux.allowPlaintextSecrets.";
      }
    ]
    ++ lib.concatLists (
      lib.mapAttrsToList (name: t: [
        {
          assertion = !(inStore t.credentialsFile);
          message = "services.nixflux.targets.${name}.credentialsFile is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).";
        }
        {
          assertion = lib.hasPrefix "s3://" t.url || dirPath t != null;
          message = "services.nixflux.targets.${name}.url `${t.url}` is neither `s3://BUCKET/PREFIX` nor `dir:///PATH`.";
        }
        {
          assertion = writable name t;
          message = "services.nixflux.targets.${name} writes `${toString (dirPath t)}`, which its unit (DynamicUser) cannot write: use a path under /var/lib/nixflux/${name}, or add the directory to services.nixflux.targets.${name}.readWritePaths.";
        }
        {
          assertion = !t.flux.bootstrap.enable || sopsObjects == [ ] || t.flux.bootstrap.sopsSecret != null;
          message = "services.nixflux.targets.${name}.flux.bootstrap: the bundle holds SOPS-encrypted objects (`${(lib.head sopsObjects).metadata.name or "?"}`), which Flux applies only with `decryption`; set sopsSecret.";
        }
        {
          assertion = !t.flux.bootstrap.enable || t.flux.bootstrap.source != null || lib.hasPrefix "s3://" t.url;
          message = "services.nixflux.targets.${name}.flux.bootstrap needs `source` (`s3://BUCKET/PREFIX`, what Flux reads): the target's url `${t.url}` is not S3.";
        }
        {
          assertion = !(inStore t.flux.kubeconfigFile);
          message = "services.nixflux.targets.${name}.flux.kubeconfigFile is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).";
        }
        {
          assertion = t.flux.receiver == null || !(inStore t.flux.receiver.tokenFile);
          message = "services.nixflux.targets.${name}.flux.receiver.tokenFile is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).";
        }
        {
          assertion =
            fluxLoop t
            || (t.flux.bucket == null && t.flux.kustomization == [ ] && t.flux.wait == null && t.flux.allowPruneKinds == [ ]);
          message = "services.nixflux.targets.${name}.flux names Flux objects but gives the unit no way to reach Flux; set flux.kubeconfigFile (or flux.receiver).";
        }
        {
          assertion = t.flux.wait == null || t.flux.kubeconfigFile != null;
          message = "services.nixflux.targets.${name}.flux.wait reads Flux's status, which a Receiver cannot tell; set flux.kubeconfigFile.";
        }
        {
          assertion = t.flux.wait == null || isDuration t.flux.wait;
          message = "services.nixflux.targets.${name}.flux.wait `${toString t.flux.wait}` is not a duration; write e.g. `90s`, `5m` or `1h30m`.";
        }
        {
          assertion = !(lib.hasPrefix "s3://" t.url) || t.credentialsFile != null || t.credentialsFromEnvironment;
          message = "services.nixflux.targets.${name} publishes to ${t.url} without credentials; set credentialsFile (or credentialsFromEnvironment = true).";
        }
      ]) cfg.targets
    );

    system.extraDependencies = lib.mkIf cfg.nodeImages.enable [ cfg.bundle ];

    systemd.services = lib.mapAttrs' (
      name: t:
      lib.nameValuePair "nixflux-publish-${name}" {
        description = "Publish the nixflux bundle to ${t.url}";
        wantedBy = [ "multi-user.target" ];
        after = [ "network-online.target" ];
        wants = [ "network-online.target" ];
        # A new bundle restarts the unit on switch; a failed publish fails the switch.
        restartTriggers = [ (bundleOf name t) ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          DynamicUser = true;
          StateDirectory = "nixflux/${name}";
          # Published files are 0644, so a server running as another user can read them.
          UMask = "0022";
          ReadWritePaths = t.readWritePaths;
          LoadCredential =
            lib.optional (t.credentialsFile != null) "s3:${toString t.credentialsFile}"
            ++ lib.optional (t.caFile != null) "ca:${toString t.caFile}"
            ++ lib.optional (t.flux.kubeconfigFile != null) "kubeconfig:${toString t.flux.kubeconfigFile}"
            ++ lib.optional (t.flux.receiver != null) "receiver-token:${toString t.flux.receiver.tokenFile}";
          # No SuccessExitStatus: only 0 is success, so Flux failing the
          # revision (exit 3) or the wait timing out (4) fails the unit, and
          # so the switch. A oneshot unit has no start timeout: `wait` bounds it.
          ExecStart = lib.escapeShellArgs (publishArgs name t);
        };
      }
    ) cfg.targets;
  };
}
