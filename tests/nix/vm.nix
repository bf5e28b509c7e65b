# NixOS VM test (flake check `vm`; needs KVM and nixpkgs, so it does not run
# on the machines this project is developed on): a node runs `rclone serve
# s3` on loopback and the nixflux module with one app and an S3 target; the
# publish unit must succeed on boot and the bucket must hold a generation
# whose kustomization builds to the app's objects.
{ self }:
{
  name = "nixflux-publish";
  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];
      environment.systemPackages = [
        pkgs.rclone
        pkgs.kubectl
      ];
      environment.etc."nixflux-s3".text = ''
        [default]
        aws_access_key_id = nixflux
        aws_secret_access_key = vm-test-only-secret
      '';
      systemd.services.rclone-s3 = {
        wantedBy = [ "multi-user.target" ];
        before = [ "nixflux-publish-home.service" ];
        preStart = "mkdir -p /var/lib/rclone-s3/flux";
        serviceConfig.ExecStart = "${pkgs.rclone}/bin/rclone serve s3 --auth-key nixflux,vm-test-only-secret --addr 127.0.0.1:8080 /var/lib/rclone-s3";
      };
      systemd.services.nixflux-publish-home = {
        after = [ "rclone-s3.service" ];
        requires = [ "rclone-s3.service" ];
      };
      services.nixflux = {
        enable = true;
        apps.hello = {
          image = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-hello.tar";
          port = 8080;
        };
        targets.home = {
          url = "s3://flux/home";
          endpoint = "http://127.0.0.1:8080";
          # A test secret in /etc, not the store's world-readable copy of a real one.
          credentialsFile = "/etc/nixflux-s3";
        };
      };
    };
  testScript = ''
    machine.wait_for_unit("nixflux-publish-home.service")
    machine.succeed("test -f /var/lib/rclone-s3/flux/home/kustomization.yaml")
    machine.succeed("test -f /var/lib/rclone-s3/flux/home/generations/00000001.json")
    machine.succeed("kubectl kustomize /var/lib/rclone-s3/flux/home | grep -q 'name: hello'")
  '';
}
