# Store paths of every shape NAR knows, built by Nix itself with no nixpkgs:
# `builtins.derivation` with the machine's /bin/sh as builder. The tests hash
# them with nixflux and compare with `nix-hash` and `nix-store --dump`.
let
  mk = name: script: builtins.derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" script ];
  };
in
{
  tree = mk "nixflux-tree" ''
    mkdir -p $out/dir/nested/deeper $out/empty
    printf hello > $out/file
    printf 12345678 > $out/eight
    printf '#!/bin/sh\necho hi\n' > $out/tool
    chmod +x $out/tool
    ln -s file $out/link
    ln -s /nonexistent/target $out/dangling
    ln -s dir/nested $out/dirlink
    : > $out/emptyfile
    for n in a B a.b a-b Z _x 10 9; do printf "$n" > "$out/dir/$n"; done
    printf x > "$out/dir/$(printf '\303\244')"
    i=0; while [ $i -lt 5000 ]; do echo "line $i of a file larger than one read"; i=$((i+1)); done > $out/dir/nested/deeper/big
    dd if=/dev/zero bs=65536 count=40 2>/dev/null > $out/dir/nested/zeros
  '';
  file = mk "nixflux-file.txt" "printf 'just a file' > $out";
  executable = mk "nixflux-exec" "printf '#!/bin/sh\n' > $out && chmod +x $out";
  symlink = mk "nixflux-link" "ln -s /nix/store $out";
  emptydir = mk "nixflux-empty" "mkdir $out";
  oddname = mk "a+b-c.d_e?f=g" "printf odd > $out";
  image = mk "nix-image-web.tar" "printf 'not really a tar' > $out";
}
