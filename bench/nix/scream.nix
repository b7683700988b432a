# A build that prints many log lines (like nom's scream.nix): the wrapper's worst case,
# one write(2) per line from nix.
{ seed ? "bench", lines ? "200000" }:
derivation {
  name = "scream";
  inherit seed;
  system = builtins.currentSystem;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  args = [ "-c" "seq 1 ${lines} | sed 's/^/log line number /'; echo done > $out" ];
}
