# The module with two targets whose Flux bootstrap is rendered at build time
# by the nixflux binary that `nixfluxPath` (a store path) holds: `home` (S3,
# pvc mode, objects also inside its bundle) and `node` (a directory served by
# rclone in hostpath mode). nixpkgs' lib only.
{ libPath, nixfluxPath }:
let
  lib = import libPath;
  rclone = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-rclone.tar";
  m = import ./module.nix {
    inherit lib;
    pkgs = {
      nixflux = builtins.storePath nixfluxPath;
      stdenv.hostPlatform.system = builtins.currentSystem;
    };
    services = {
      enable = true;
      apps.web = {
        image = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-hello.tar";
        port = 8080;
      };
      targets.home = {
        url = "s3://flux/home";
        endpoint = "https://s3.lan:9000";
        credentialsFile = "/run/keys/nixflux-s3";
        flux.bootstrap = {
          enable = true;
          inBundle = true;
          rcloneImage = rclone;
          receiver = true;
          notifierUrl = "http://notify.lan:9293/flux";
          rbacServiceAccount = "publisher";
        };
      };
      targets.node = {
        url = "dir:///var/lib/nixflux-s3/flux/node";
        readWritePaths = [ "/var/lib/nixflux-s3" ];
        flux.bootstrap = {
          enable = true;
          source = "s3://flux/node";
          mode = "hostpath";
          hostPath = "/var/lib/nixflux-s3";
          node = "node1";
          rcloneImage = rclone;
          extraArgs = [ "--interval" "30m" ];
        };
      };
    };
  };
in
m
// {
  homeBundle = builtins.elemAt m.units.nixflux-publish-home.restartTriggers 0;
  nodeBundle = builtins.elemAt m.units.nixflux-publish-node.restartTriggers 0;
}
