# Evaluate one of nix/modules/ offline, with stub-lib.nix and a stub pkgs:
#   module    the module file (its imports are followed), or
#   flakeModule  "nixosModules" / "homeManagerModules": the flake's module of that name
#             (flake.nix's outputs called with a stub nixpkgs)
#   settings  the user's configuration (JSON), checked against the declared options
#   base      the rest of the system's configuration the module reads (JSON)
#   out       the store path of the package (package.nix through a stub
#             buildPythonApplication): a directory the test fills
# Gives { config; options; package } with every mkIf / mkMerge resolved.
{
  module ? null,
  flakeModule ? null,
  settings,
  base ? "{}",
  out,
}:

let
  lib = import ./stub-lib.nix;
  inherit (builtins)
    attrNames
    concatMap
    foldl'
    isAttrs
    isList
    head
    tail
    length
    listToAttrs
    ;
  isType = t: v: isAttrs v && (v._type or null) == t;
  isPackage = v: isAttrs v && v ? outPath;
  isString = builtins.isString;
  isLines = s: s != "" && builtins.substring (builtins.stringLength s - 1) 1 s == "\n";

  pkgs = rec {
    inherit lib;
    stdenv.hostPlatform.system = "x86_64-linux";
    python3Packages = {
      buildPythonApplication = attrs: {
        type = "derivation";
        name = "${attrs.pname}-${attrs.version}";
        outPath = out;
        inherit (attrs) pname version meta;
        inherit attrs;
      };
      hatchling = "hatchling";
      anyio = "anyio";
      trio = "trio";
      msgspec = "msgspec";
      rich = "rich";
    };
    installShellFiles = "installShellFiles";
    callPackage =
      path: overrides:
      let
        f = import path;
        wanted = builtins.intersectAttrs (builtins.functionArgs f) pkgs;
      in
      f (wanted // overrides);
  };

  # Every module of the tree, called with the final config (lazily: imports do not
  # depend on it).
  collect =
    m:
    let
      f = if builtins.isFunction m then m else import m;
      r = f {
        inherit config lib pkgs;
      };
    in
    [ r ] ++ concatMap collect (r.imports or [ ]);
  modules = collect (if flakeModule != null then flake.${flakeModule}.default else module);

  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (_: pkgs);
  };
  flake = (import ../../flake.nix).outputs {
    self = flake // { outPath = ../..; };
    inherit nixpkgs;
  };

  # attribute sets merged recursively, lists concatenated, equal values once
  merge =
    a: b:
    if isAttrs a && isAttrs b && !isPackage a && !isPackage b then
      let
        names = attrNames (a // b);
      in
      listToAttrs (
        map (n: {
          name = n;
          value = if a ? ${n} && b ? ${n} then merge a.${n} b.${n} else (a // b).${n};
        }) names
      )
    else if isList a && isList b then
      a ++ b
    # two multi-line strings (''...'', ending in a newline): lines, joined as nixpkgs'
    # types.lines does (security.sudo.extraConfig defined by two of our modules)
    else if isString a && isString b && isLines a && isLines b then
      a + "\n" + b
    else if a == b then
      a
    else
      throw "conflicting definitions: ${builtins.toJSON a} and ${builtins.toJSON b}";
  mergeAll = defs: if defs == [ ] then { } else foldl' merge (head defs) (tail defs);

  # a value's definitions once mkIf / mkMerge / mkDefault are resolved
  definitions =
    v:
    if isType "if" v then
      (if v.condition then definitions v.content else [ ])
    else if isType "merge" v then
      concatMap definitions v.contents
    else if isType "override" v then
      definitions v.content
    else
      [ (resolve v) ];
  resolve =
    v:
    if isAttrs v && !isPackage v then
      listToAttrs (
        concatMap (
          n:
          let
            d = definitions v.${n};
          in
          if d == [ ] then
            [ ]
          else
            [
              {
                name = n;
                value = mergeAll d;
              }
            ]
        ) (attrNames v)
      )
    else if isList v then
      concatMap definitions v
    else
      v;

  options = mergeAll (map (m: m.options or { }) modules);

  # the user's settings checked against the options (name and type), over the defaults
  apply =
    path: opts: given:
    listToAttrs (
      map (
        n:
        let
          o = opts.${n};
          here = "${path}.${n}";
        in
        {
          name = n;
          value =
            if isType "option" o then
              (
                if given ? ${n} then
                  (if o.type.check given.${n} then given.${n} else throw "${here}: not a ${o.type.name}")
                else
                  o.default
              )
            else
              apply here o (given.${n} or { });
        }
      ) (attrNames opts)
    )
    // (
      let
        unknown = builtins.filter (n: !(opts ? ${n})) (attrNames given);
      in
      if unknown == [ ] then { } else throw "no such option: ${path}.${head unknown}"
    );

  # What the modules read: their options' values and the rest of the system (base);
  # not their own definitions, which would make the stub's merge recursive.
  config = merge (builtins.fromJSON base) (apply "" options (builtins.fromJSON settings));
  moduleConfig = mergeAll (concatMap (m: definitions (m.config or { })) modules);

  # what an option declares, for the documentation checks
  describe =
    opts:
    builtins.mapAttrs (
      _: o:
      if isType "option" o then
        {
          type = o.type.name;
          description = o.description or null;
        }
      else
        describe o
    ) opts;
in
{
  config = moduleConfig;
  options = describe options;
  package =
    let
      p = pkgs.callPackage ../../nix/package.nix { };
    in
    {
      inherit (p) pname version meta;
      inherit (p.attrs) postInstall pythonImportsCheck dependencies build-system;
    };
  flake = {
    apps = flake.apps.x86_64-linux;
    packages = builtins.mapAttrs (_: p: p.outPath) flake.packages.x86_64-linux;
    overlay = (flake.overlays.default pkgs pkgs).nixos-build-status.outPath;
    checks = attrNames (import ../../nix/checks.nix {
      inherit pkgs;
      self = flake;
      nixosSystem = _: throw "not evaluated offline";
    });
    modules = attrNames flake.nixosModules ++ attrNames flake.homeManagerModules;
  };
}
