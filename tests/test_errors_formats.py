"""The error extractor on every output format in the wild, written out as each tool
prints it (nix 1.x to 2.29+, Lix, nom, nixos-rebuild(-ng), nh, switch-to-configuration,
Home Manager).  The real corpus (test_error_corpus.py) has most of them; these cover
the wordings it lacks and the traps around them."""

from __future__ import annotations

from textwrap import dedent

from parsers.errors.order import ordered_errors
from parsers.events import ErrorEvent
from parsers.replay import extract_bytes
from tests.conftest import of_type, parse

H = "0123456789abcdfghijklmnpqrsvwxyz"  # a store hash's alphabet, 32 characters


def drv(name: str) -> str:
    return f"/nix/store/{H}-{name}.drv"


def errors(log: str, exit_code: int | None = None) -> list[ErrorEvent]:
    return ordered_errors(extract_bytes(dedent(log).lstrip("\n").encode(), exit_code=exit_code))


def brief(found: list[ErrorEvent]) -> list[tuple[str, str | None, bool]]:
    return [(e.kind, e.derivation, e.root_cause) for e in found]


# --- builds ---------------------------------------------------------------------------


def test_nix_2_3_builder_failure_with_quoted_tail_and_old_dependency_wording():
    found = errors(f"""
        these derivations will be built:
          {drv("hello-2.10")}
          {drv("env")}
        building '{drv("hello-2.10")}'...
        builder for '{drv("hello-2.10")}' failed with exit code 2; last 10 log lines:
          gcc -c hello.c
          hello.c:3:1: error: expected ';' before '}}' token
          make: *** [Makefile:4: hello.o] Error 1
        cannot build derivation '{drv("env")}': 1 dependencies couldn't be built
        error: build of '{drv("env")}' failed
    """)
    assert brief(found) == [("build-failure", "hello-2.10", True),
                            ("dependency-failure", "env", False)]
    assert found[0].exit_code == 2
    assert found[0].log_tail == ["gcc -c hello.c", "hello.c:3:1: error: expected ';' before '}' token",
                                 "make: *** [Makefile:4: hello.o] Error 1"]


def test_lix_and_nix_2_18_builder_failure():
    found = errors(f"""
        building '{drv("foo-1.0")}'...
        error: builder for '{drv("foo-1.0")}' failed with exit code 1;
               last 3 log lines:
               > Running phase: buildPhase
               > ./configure: line 12: syntax error near unexpected token `fi'
               > error: build failed
               For full logs, run 'nix log {drv("foo-1.0")}'.
        error: 1 dependency of derivation '{drv("bar")}' failed to build
    """)
    assert brief(found) == [("build-failure", "foo-1.0", True), ("dependency-failure", "bar", False)]
    assert found[0].log_tail[-1] == "error: build failed"


def test_nix_2_29_cannot_build_with_reasons():
    found = errors(f"""
        error: Cannot build '{drv("slow-1.0")}'.
               Reason: timed out after 3600 seconds of silence.
               Output paths:
                 /nix/store/{H}-slow-1.0
        error: Cannot build '{drv("app-2.0")}'.
               Reason: 1 dependency failed.
               Output paths:
                 /nix/store/{H}-app-2.0
        error: Build failed due to failed dependency
    """)
    assert brief(found) == [("timeout", "slow-1.0", True), ("dependency-failure", "app-2.0", False)]


def test_phase_of_a_failure_from_the_quoted_log():
    (error,) = errors(f"""
        error: Cannot build '{drv("superhtml-0.6.2")}'.
               Reason: builder failed with exit code 1.
               Last 3 log lines:
               > Running phase: unpackPhase
               > Running phase: patchPhase
               > ln: failed to create symbolic link '/p': Permission denied
    """)
    assert (error.kind, error.phase) == ("build-failure", "patchPhase")


def test_plain_nix_build_keeps_compiler_errors_inside_the_build():
    # Old nix-build prints builder output unprefixed: a builder's "error:" lines are its
    # own, not nix's; the failure comes with the builder's last lines as its tail.
    found = errors(f"""
        building '{drv("tool-0.1")}'...
        error: could not compile `tool` (bin "tool") due to 1 previous error
        error: linking with `cc` failed: exit status: 1
          |
          = note: some linker output
        error: builder for '{drv("tool-0.1")}' failed with exit code 101
    """)
    assert brief(found) == [("build-failure", "tool-0.1", True)]
    assert "error: could not compile `tool` (bin \"tool\") due to 1 previous error" in found[0].log_tail


def test_a_builders_error_lines_are_no_alarm_when_the_build_succeeds():
    assert errors(f"""
        building '{drv("tests-1.0")}'...
        error: expected failure in test_parse_garbage (this is fine)
        ERROR tests/test_flaky.py - skipped
        Command 'false' returned non-zero exit status 1.
        Traceback (most recent call last):
          File "x.py", line 1, in <module>
        ValueError: expected
        No space left on device (simulated by the test suite)
        building '{drv("etc")}'...
        activating the configuration...
        setting up /etc...
    """) == []


def test_fetcher_that_cannot_download_is_one_download_error():
    found = errors(f"""
        building '{drv("foo-1.0.tar.gz")}'...

        trying https://example.org/foo-1.0.tar.gz
        curl: (22) The requested URL returned error: 404
        error: cannot download foo-1.0.tar.gz from any mirror
        error: builder for '{drv("foo-1.0.tar.gz")}' failed with exit code 1
        error: 1 dependencies of derivation '{drv("foo-1.0")}' failed to build
    """)
    assert brief(found) == [("download", "foo-1.0.tar.gz", True), ("dependency-failure", "foo-1.0", False)]


def test_disk_full_while_building_is_out_of_space():
    found = errors(f"""
        error: builder for '{drv("big-1.0")}' failed with exit code 1;
               last 2 log lines:
               > cp: error writing '/nix/store/{H}-big-1.0/data': No space left on device
               > cp: failed to extend '/nix/store/{H}-big-1.0/data'
    """)
    assert brief(found) == [("out-of-space", "big-1.0", True)]


def test_nix_1_x_hash_mismatch_and_2_3_wanted_got():
    old = errors(f"output path ‘/nix/store/{H}-src’ has sha256 hash ‘1aaa’ when ‘0bbb’ was expected\n")
    assert [(e.kind, e.specified, e.got) for e in old] == [("hash-mismatch", "0bbb", "1aaa")]
    new = errors(f"""
        hash mismatch in fixed-output derivation '{drv("src")}':
          wanted: sha256:0bbb
          got:    sha256:1aaa
        error: build of '{drv("src")}' failed
    """)
    assert [(e.kind, e.derivation, e.specified, e.got) for e in new] == [
        ("hash-mismatch", "src", "sha256:0bbb", "sha256:1aaa")]


def test_nix_2_3_timeout_without_prefix():
    found = errors(f"{drv('slow-1.0')} timed out after 10 seconds of silence\n"
                   f"error: build of '{drv('slow-1.0')}' failed\n")
    assert brief(found) == [("timeout", "slow-1.0", True)]


def test_build_of_summary_alone_still_names_the_failure():
    found = errors(f"error: build of '{drv('a')}', '{drv('b')}' failed\n")
    assert brief(found) == [("build-failure", "a", True)]


def test_pasted_log_excerpt_without_header_names_the_derivation_from_nix_log_hint():
    found = errors(f"""
        $ nixos-rebuild switch
               > checking for gcc... no
               > configure: error: no acceptable C compiler found in $PATH
               For full logs, run:
                 nix log {drv("lib-3.1")}
    """)
    assert brief(found) == [("build-failure", "lib-3.1", True)]
    assert found[0].message == "configure: error: no acceptable C compiler found in $PATH"


def test_nix_build_L_prefixes_attribute_lines_and_phase_to_the_derivation():
    events = parse(dedent(f"""
        building '{drv("hello-2.12.1")}'...
        hello> Running phase: unpackPhase
        hello> unpacking source archive /nix/store/{H}-hello-2.12.1.tar.gz
        hello> Running phase: buildPhase
        hello> hello.c:3:1: error: expected ';'
        hello> make: *** [Makefile:4: hello.o] Error 1
        error: builder for '{drv("hello-2.12.1")}' failed with exit code 2
    """).lstrip().encode())
    (error,) = of_type(events, "error")
    assert error.phase == "buildPhase"
    assert error.log_tail[-1] == "make: *** [Makefile:4: hello.o] Error 1"


# --- evaluation -----------------------------------------------------------------------


def test_nix_2_3_inline_position():
    (error,) = errors("""
        error: undefined variable 'pkgs' at /etc/nixos/configuration.nix:10:3
        (use '--show-trace' to show detailed location information)
    """)
    assert (error.kind, error.file, error.line, error.column) == (
        "eval-error", "/etc/nixos/configuration.nix", 10, 3)


def test_nix_2_3_show_trace_chain():
    (error,) = errors("""
        error: while evaluating the attribute 'config.system.build.toplevel' at /nix/store/x-nixos/nixos/modules/system/activation/top-level.nix:245:5:
        while evaluating 'foo' at /etc/nixos/configuration.nix:4:9, called from /etc/nixos/configuration.nix:12:3:
        attribute 'enable' missing, at /etc/nixos/configuration.nix:5:12
    """)
    assert error.kind == "attribute-missing"
    assert error.message == "error: attribute 'enable' missing, at /etc/nixos/configuration.nix:5:12"
    assert (error.file, error.line) == ("/etc/nixos/configuration.nix", 5)
    assert error.trace[-1].startswith("while evaluating 'foo'")
    assert len(error.trace) == 2


def test_nix_2_4_era_banner():
    (error,) = errors("""
        error: --- EvalError -------------------------------------------------------- nix-build
        at: (10:5) in file: /etc/nixos/configuration.nix

             9|   environment.systemPackages = with pkgs; [
            10|     firefoxx
              |     ^
            11|   ];

        undefined variable 'firefoxx'
        (use '--show-trace' to show detailed location information)
        building the system configuration...
    """)
    assert (error.kind, error.message, error.file, error.line) == (
        "eval-error", "undefined variable 'firefoxx'", "/etc/nixos/configuration.nix", 10)


def test_old_layout_show_trace_is_reversed_to_innermost_last():
    (error,) = errors("""
        error: value is a string while a set was expected

               at /etc/nixos/hosts/a.nix:3:12:

                    2|   networking = {
                    3|     hostName = "a".b;
                     |            ^

               … while evaluating the attribute 'networking.hostName'

               at /etc/nixos/hosts/a.nix:3:5:

               … while evaluating the module argument `config'

               at /nix/store/x-source/lib/modules.nix:500:28:
    """)
    assert (error.kind, error.line, error.column) == ("eval-error", 3, 12)
    assert error.trace == [
        "while evaluating the module argument `config' at /nix/store/x-source/lib/modules.nix:500:28",
        "while evaluating the attribute 'networking.hostName' at /etc/nixos/hosts/a.nix:3:5",
    ]


def test_nixos_assertions_with_several_items_take_the_first():
    (error,) = errors("""
        error:
               Failed assertions:
               - users.users.alice.group is unset. This used to default to
               nogroup, but this is unsafe.
               - The ‘fileSystems’ option does not specify your root file system.
    """)
    assert (error.kind, error.message) == (
        "assertion", "users.users.alice.group is unset. This used to default to")


def test_nix_language_assertion():
    (error,) = errors("""
        error: assertion '(lib.versionAtLeast version "2.0")' failed

               at /etc/nixos/pkgs/foo.nix:3:1:

                    2|
                    3| assert lib.versionAtLeast version "2.0";
                     | ^
    """)
    assert (error.kind, error.line) == ("assertion", 3)


def test_option_used_but_not_defined_is_an_eval_error_not_a_missing_option():
    (error,) = errors("""
        error: The option `home.stateVersion' was accessed but has no value defined. Try setting the option.
    """)
    assert error.kind == "eval-error"


def test_error_ignored_is_not_an_error():
    assert errors("""
        error (ignored): error: SQLite database '/nix/var/nix/db/db.sqlite' is busy
        warning: error: unable to download 'https://cache.nixos.org/x.narinfo': HTTP error 200; retrying in 300 ms
        trace: warning: foo is deprecated
        evaluation warning: bar has been renamed
    """) == []


def test_binary_cache_errors_matter_only_when_nothing_else_explains_a_failure():
    transient = "error: unable to download 'https://cache.example.org/abc.narinfo': Timeout was reached (28)\n"
    assert [e.kind for e in errors(transient)] == ["download"]
    assert errors(transient + "activating the configuration...\nsetting up /etc...\n") == []
    assert errors(transient, exit_code=0) == []
    built = errors(transient + f"error: builder for '{drv('x-1')}' failed with exit code 1\n")
    assert brief(built) == [("build-failure", "x-1", True)]


# --- activation, tools ----------------------------------------------------------------


def test_unit_failure_in_another_locale_keeps_journal_lines_as_its_tail():
    (error,) = errors("""
        activating the configuration...
        warning: the following units failed: foo.service

        × foo.service - Foo
             Loaded: loaded (/etc/systemd/system/foo.service; enabled; preset: enabled)
             Active: failed (Result: exit-code) since Mo 2026-12-07 10:00:00 CET; 1s ago

        Dez 07 10:00:00 host foo[123]: error: cannot open /var/lib/foo/db: Permission denied
        Dez 07 10:00:00 host systemd[1]: foo.service: Failed with result 'exit-code'.
        Command 'systemd-run … switch-to-configuration switch' returned non-zero exit status 4.
    """)
    assert (error.kind, error.units, error.root_cause) == ("activation-unit-failed", ["foo.service"], True)
    assert error.log_tail[0] == "error: cannot open /var/lib/foo/db: Permission denied"


def test_home_manager_clobber_inside_the_unit_status_is_the_cause():
    found = errors("""
        warning: the following units failed: home-manager-bob.service
        × home-manager-bob.service - Home Manager environment for bob
        2026-12-07T10:00:00+0100 host hm-activate-bob[9]: Existing file '/home/bob/.zshrc' would be clobbered
        Done.
    """)
    assert [(e.kind, e.root_cause) for e in found] == [
        ("home-manager-clobber", True), ("activation-unit-failed", False)]
    assert found[0].paths == ["/home/bob/.zshrc"]


def test_home_manager_backup_and_skip_are_not_errors():
    assert errors("""
        Activating checkLinkTargets
        Existing file '/home/a/.bashrc' is in the way of '/nix/store/x-home-manager-files/.bashrc', will be moved to '/home/a/.bashrc.backup'
        Existing file '/home/a/.profile' is in the way of '/nix/store/x-home-manager-files/.profile', will be skipped since they are the same
        Activating writeBoundary
    """) == []


def test_bootloader_failure_takes_the_cause_printed_just_before():
    (error,) = errors("""
        updating systemd-boot...
        Traceback (most recent call last):
          File "/nix/store/x-systemd-boot/bin/systemd-boot", line 341, in <module>
            main()
        OSError: [Errno 28] No space left on device: '/boot/EFI/nixos/x-initrd.efi'
        Failed to install bootloader
        warning: error(s) occurred while switching to the new configuration
    """)
    assert error.kind == "out-of-space"
    assert error.message.startswith("OSError: [Errno 28] No space left on device")


def test_ssh_refusal_explains_nix_failing_to_connect():
    (error,) = errors("""
        copying 2 paths...
        root@10.0.0.2: Permission denied (publickey,password).
        error: cannot connect to 'root@10.0.0.2': ssh: connect to host failed
    """)
    assert (error.kind, error.message) == ("permission", "root@10.0.0.2: Permission denied (publickey,password).")


def test_nh_error_chain_alone_and_behind_an_activation_failure():
    chain = """
        > Activating configuration
        Error:
           0: Activation (test) failed
           1: Activating configuration (exit status Exited(4))

        Location:
           crates/nh-nixos/src/nixos.rs:402

        Backtrace omitted. Run with RUST_BACKTRACE=1 environment variable to display it.
        Run with RUST_BACKTRACE=full to include source snippets.
    """
    (alone,) = errors(chain)
    assert alone.message == "Error: Activation (test) failed: Activating configuration (exit status Exited(4))"
    behind = errors(chain.replace("> Activating configuration",
                                  "> Activating configuration\n        warning: the following units "
                                  "failed: web.service"))
    assert [e.kind for e in behind] == ["activation-unit-failed"]


def test_elevation_failures():
    assert [(e.kind, e.message) for e in errors("sudo: 3 incorrect password attempts\n")] == [
        ("permission", "sudo: 3 incorrect password attempts")]
    assert [e.kind for e in errors("doas: Authentication failed\n")] == ["permission"]
    assert [e.kind for e in errors(
        "Error executing command as another user: Not authorized\n")] == ["permission"]


def test_nix_crash_and_home_manager_profile_failure_are_other():
    crash = errors("nix: src/libstore/build/goal.cc:12: void f(): Assertion `x' failed.\n")
    profile = errors("Oops, Nix failed to install your new Home Manager profile!\n")
    assert [e.kind for e in crash + profile] == ["other", "other"]


def test_deployment_host_and_journal_prefixes_are_read_through():
    found = errors("""
        Nov 08 03:00:12 host nixos-upgrade-start[1234]: error: attribute 'foo' missing
        Nov 08 03:00:12 host nixos-upgrade-start[1234]:
        Nov 08 03:00:12 host nixos-upgrade-start[1234]:        at /etc/nixos/configuration.nix:7:3:
          web-1 | error: infinite recursion encountered
          web-1 |
          web-1 |        at /nix/store/x-source/lib/modules.nix:578:38:
    """)
    assert [(e.kind, e.line) for e in found] == [("attribute-missing", 7), ("infinite-recursion", 578)]


def test_terminal_redraws_are_read_as_the_last_draw():
    found = errors("[1/3 built] building foo\r\x1b[K\x1b[31;1merror:\x1b[0m attribute "
                   "'\x1b[35;1mbar\x1b[0m' missing\n\x1b]8;;file:///x\x07link\x1b]8;;\x07\n")
    assert [e.message for e in found] == ["error: attribute 'bar' missing"]


def test_bare_builder_log_fails_only_if_its_end_says_so():
    ok = "Running phase: buildPhase\nerror: in test 3 (expected)\nRunning phase: installPhase\n" \
         + "".join(f"installing file {i}\n" for i in range(30))
    assert errors(ok) == []
    failed = errors(f"Running phase: fixupPhase\nshrinking RPATHs of ELF executables and libraries "
                    f"in /nix/store/{H}-app-1.0\nerror: auto-patchelf could not satisfy dependency "
                    f"libfoo.so.1 wanted by /nix/store/{H}-app-1.0/bin/app\n")
    assert brief(failed) == [("build-failure", "app-1.0", True)]


def test_activation_failure_after_a_successful_build_is_still_reported():
    # nh hides Home Manager's output: its error chain is all there is, and that the
    # build itself succeeded (nom: "Finished") must not hide it.
    (error,) = errors("""
        > Building Home-Manager configuration
        ┗━ ∑ ⏵ 0 │ ✔ 3 │ ⏸ 0 │ Finished at 12:08:26 after 40s
        > Activating configuration
        Error:
           0: Activation failed
    """, exit_code=1)
    assert (error.kind, error.message) == ("other", "Error: Activation failed")


def test_switch_to_configuration_init_change_and_a_full_database():
    (init,) = errors("""
        Warning: the new NixOS configuration has an ‘init’ that is
        incompatible with the current configuration.  The new configuration
        won't take effect until you reboot the system.
        Command 'systemd-run … switch-to-configuration switch' returned non-zero exit status 100.
    """)
    assert init.message.startswith("Warning: the new NixOS configuration has an ‘init’")
    (full,) = errors("error: executing SQLite statement 'insert into Refs': database or disk is full\n")
    assert full.kind == "out-of-space"


def test_a_paste_that_lost_its_indentation():
    (error,) = errors("""
        error:
        … while evaluating the attribute 'value'
        at /nix/store/x-source/lib/modules.nix:809:9:
        808|     in warnDeprecation opt //
        error: attribute 'age' missing
        at /etc/nixos/machines/a.nix:60:21:
        60|   "${config.age.secrets.x.path}"
        (use '--show-trace' to show detailed location information)
    """)
    assert (error.kind, error.message, error.line) == ("attribute-missing", "error: attribute 'age' missing", 60)
    assert error.trace == ["while evaluating the attribute 'value' at /nix/store/x-source/lib/modules.nix:809:9"]


# --- found by a held-out evaluation (new logs labelled blind; see docs/errors.md) ------


def test_a_failure_between_the_build_and_activation_is_seen():
    # nixos-rebuild boot: no "activating the configuration..." ever comes; the
    # bootloader installer fails right after the build.
    found = errors(f"""
        building the system configuration...
        building '{drv("nixos-system-box-25.05")}'...
        Not checking switch inhibitors (action = boot)
        Traceback (most recent call last):
          File "/nix/store/{H}-systemd-boot/bin/systemd-boot", line 440, in <module>
        OSError: [Errno 28] No space left on device: '/nix/store/{H}-initrd' -> '/boot/EFI/nixos/x.efi.tmp'
        Failed to install bootloader
        """, exit_code=1)
    assert [(e.kind, e.message) for e in found[:1]] == [
        ("out-of-space", f"OSError: [Errno 28] No space left on device: '/nix/store/{H}-initrd' "
                         "-> '/boot/EFI/nixos/x.efi.tmp'")]


def test_a_failed_fetch_is_explained_by_what_git_said():
    for said in ("fatal: couldn't find remote ref refs/heads/v9.9",
                 "Schwerwiegend: Konnte Remote-Referenz refs/heads/v9.9 nicht finden."):
        found = errors(f"""
            fetching git input 'git+https://example.org/x/y?ref=v9.9'
            {said}
            error:
                   … while updating the lock file of flake 'git+file:///etc/nixos'

                   … while fetching the input 'git+https://example.org/x/y?ref=v9.9'

                   error: program 'git' failed with exit code 128
            """, exit_code=1)
        assert [(e.kind, e.message, e.root_cause) for e in found] == [("download", said, True)]


def test_an_eval_cache_failure_is_an_evaluation_error():
    (found,) = errors("error: cached failure of attribute 'nixosConfigurations.box.config'\n")
    assert (found.kind, found.message) == (
        "eval-error", "error: cached failure of attribute 'nixosConfigurations.box.config'")


def test_the_activation_scripts_summary_is_not_a_second_error():
    found = errors("""
        activating the configuration...
        [agenix] decrypting secrets...
        Activation script snippet 'agenixInstall' failed (1)
        Failed to run activate script
        """, exit_code=2)
    assert [e.message for e in found] == ["Activation script snippet 'agenixInstall' failed (1)"]
    (alone,) = errors("activating the configuration...\nFailed to run activate script\n", exit_code=2)
    assert alone.message == "Failed to run activate script"


# --- glued lines, reports without their first line, nix's own words ------------------


def test_an_error_glued_to_nixs_progress_bar_is_read():
    # A capture without the erase: the bar, a build's status redrawn, then the report.
    bar = "[1/13/25 built, 238 copied (1471.5 MiB), 312.4 MiB DL] building foo-deps (fixupPhase): "
    found = errors(f"""
        {bar}Progress: 3225{bar}fixupPhase completed in gerror: hash mismatch in fixed-output derivation '{drv("foo-deps")}':
                 specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
                    got:    sha256-SyBO1mb/lmelEMgpxyQ1ugbsxIlKf/2xjzJSHif4cVM=
        error: 1 dependencies of derivation '{drv("foo")}' failed to build
    """)
    assert brief(found) == [("hash-mismatch", "foo-deps", True), ("dependency-failure", "foo", False)]
    assert found[0].hint == ("replace the hash sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= by "
                             "sha256-SyBO1mb/lmelEMgpxyQ1ugbsxIlKf/2xjzJSHif4cVM= in the file that sets it"
                             " (for foo-deps)")


def test_a_wrapper_line_glued_to_nixs_evaluation_status_is_read():
    (found,) = errors("""
        building the system configuration...
        evaluating derivation 'path:/etc/nixos#nixosConfigurations.x.config.system.build.toplevel'Command '['nix', 'build']' died with <Signals.SIGKILL: 9>.
    """)
    assert (found.kind, found.message, found.exit_code) == (
        "other", "Command '['nix', 'build']' died with <Signals.SIGKILL: 9>.", 137)


def test_a_ninja_status_line_with_an_error_stays_builder_output():
    found = errors(f"""
        building '{drv("foo-1.0")}'...
        [3/20] Building CXX object src/a.o error: nothing
        error: builder for '{drv("foo-1.0")}' failed with exit code 1
    """)
    assert brief(found) == [("build-failure", "foo-1.0", True)]


def test_ctrl_c_echoed_before_a_line_and_an_interrupted_build():
    found = errors(f"""
        building '{drv("foo-1.0")}'...
        ^Cerror: interrupted by the user
    """)
    assert [(e.kind, e.message) for e in found] == [("other", "error: interrupted by the user")]


def test_ctrl_c_echoed_before_an_internal_json_line_is_parsed_not_shown():
    line = b'@nix {"action":"msg","level":0,"msg":"error: interrupted by the user"}\n'
    events = parse(b"^C" + line)
    assert [(e.kind, e.message) for e in of_type(events, "error")] == [
        ("other", "error: interrupted by the user")]
    assert not any("@nix" in e.text for e in of_type(events, "log.line"))


def test_a_bare_failed_assertions_list_is_an_assertion():
    found = errors("""
               Failed assertions:
               - The option definition `a.b' in `/etc/nixos/x.nix' no longer has any effect; please remove it.
               The option was removed.

               - c is invalid
    """)
    assert [(e.kind, e.message) for e in found][:1] == [
        ("assertion", "The option definition `a.b' in `/etc/nixos/x.nix' no longer has any effect; "
                      "please remove it.")]
    assert found[0].hint == "remove a.b from /etc/nixos/x.nix (the option was removed)"


def test_nix_crashing_is_one_error():
    (found,) = errors("""
        terminating due to unexpected unrecoverable internal error: Assertion 'x' failed in nix::Goal::amDone at ../build/goal.cc:204
        Nix crashed. This is a bug. Please report this at https://github.com/NixOS/nix/issues
        Stack trace:
         0# 0x00000000001124AE in nix
    """)
    assert found.kind == "other" and found.message.startswith("terminating due to unexpected")


def test_a_fetcher_failing_before_nix_reports_its_builder_is_one_download_error():
    # Nix >= 2.26 prints the fetcher's own line before the "Cannot build" block.
    found = errors(f"""
        error: cannot download source from any mirror
        error: Cannot build '{drv("source")}'.
               Reason: builder failed with exit code 1.
               Last 2 log lines:
               > trying https://example.org/a.tar.gz
               > curl: (22) The requested URL returned error: 404
    """)
    assert [(e.kind, e.derivation, e.message) for e in found] == [
        ("download", "source", "error: cannot download source from any mirror")]


def test_a_unit_job_failure_during_a_successful_activation_is_no_error():
    assert errors("""
        activating the configuration...
        reloading user units for alice...
        Job for nixos-activation.service failed because the control process exited with error code.
        restarting sysinit-reactivation.target
        the following new units were started: sysinit-reactivation.target
    """) == []


def test_a_disk_full_builder_failure_says_what_could_not_be_written():
    (found,) = errors(f"""
        error: builder for '{drv("hm_gitconfig")}' failed with exit code 1;
               last 1 log lines:
               > mv: error copying '/build/.attr-1' to '/nix/store/{H}-hm_gitconfig': No space left on device
               note: build failure may have been caused by lack of free disk space
    """)
    assert (found.kind, found.derivation) == ("out-of-space", "hm_gitconfig")
    assert found.message.startswith("mv: error copying") and found.message.endswith("No space left on device")


def test_only_a_time_limit_is_a_timeout():
    found = errors("""
        Error: Error switching

        Caused by:
            0: Failed to perform post-reload tasks
            1: timed out waiting on channel
    """)
    assert [e.kind for e in found] == ["other"]
    assert [e.kind for e in errors("error: unable to download 'https://x/y': Timeout was reached (28)")] == [
        "download"]


def test_a_python_exception_named_exception_ends_its_traceback():
    found = errors("""
        Traceback (most recent call last):
          File "/nix/store/x-systemd-boot", line 256, in main
            raise Exception("could not find any previously installed systemd-boot")
        Exception: could not find any previously installed systemd-boot
        warning: error(s) occurred while switching to the new configuration
    """)
    assert [e.message for e in found] == ["Exception: could not find any previously installed systemd-boot"]


def test_an_untracked_file_in_a_git_flake_gets_git_add():
    (found,) = errors("""
        warning: Git tree '/home/b/cfg' is dirty
        error:
               … while evaluating the attribute 'x'

               error: path '/nix/store/02hyz62zfadcjf7gsni6vqv8iwk8x0wx-source/nvf.nix' does not exist
    """)
    assert found.hint == ("if nvf.nix is new: git add nvf.nix (the Git tree is dirty, and a flake sees "
                          "only files Git tracks)")


def test_a_stack_overflow_is_an_infinite_recursion():
    (found,) = errors("error: stack overflow (possible infinite recursion)")
    assert found.kind == "infinite-recursion"


def test_nix_2_3_unprefixed_download_failure():
    (found,) = errors("unable to download 'https://example.org/a.tar.gz': HTTP error 503")
    assert (found.kind, found.message) == (
        "download", "unable to download 'https://example.org/a.tar.gz': HTTP error 503")


def test_a_missing_platform_is_no_builder_failure_and_says_what_to_add():
    for log in (f"""
        error: Cannot build '{drv("opentofu-1.10.2")}'.
               Reason: required system or feature not available
               Required system: 'aarch64-linux' with features {{}}
               Current system: 'x86_64-linux' with features {{benchmark, big-parallel, kvm, nixos-test}}
    """, f"""
        error: a 'aarch64-linux' with features {{}} is required to build '{drv("opentofu-1.10.2")}', but I am a 'x86_64-linux' with features {{benchmark, big-parallel, kvm, nixos-test}}
    """):
        (found,) = errors(log)
        assert (found.kind, found.derivation) == ("other", "opentofu-1.10.2")
        assert found.hint == ('this needs a aarch64-linux machine (this one is x86_64-linux): add a remote '
                              'builder (nix.buildMachines) or emulate it (boot.binfmt.emulatedSystems = '
                              '[ "aarch64-linux" ])')


def test_lix_hash_mismatch_whose_name_nom_cut_is_named_by_its_expected_path():
    found = errors(f"""
        ┏━ 1 Errors:
        ┃ error: hash mismatch in fixed-output derivation '/nix/store/{H}-foo-src…
        ┃     likely URL: https://example.org/foo.tar.gz
        ┃      specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
        ┃            got: sha256-SyBO1mb/lmelEMgpxyQ1ugbsxIlKf/2xjzJSHif4cVM=
        ┃  expected path: /nix/store/{H}-foo-src
        ┃       got path: /nix/store/{H[::-1]}-foo-src
        ┗━ ∑ ⚠ Exited after 1 build failure at 14:12:31 after 3s
    """)
    assert [(e.kind, e.derivation, e.got) for e in found] == [
        ("hash-mismatch", "foo-src", "sha256-SyBO1mb/lmelEMgpxyQ1ugbsxIlKf/2xjzJSHif4cVM=")]


def test_a_fixed_outputs_mismatch_quoted_in_another_builders_log_is_a_hash_mismatch():
    (found,) = errors(f"""
        error: builder for '{drv("vm-test")}' failed with exit code 1;
               last 3 log lines:
               > error: hash mismatch in fixed-output derivation '/nix/store/{H}-x.drv':
               >          specified: sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
               >             got:    sha256-SyBO1mb/lmelEMgpxyQ1ugbsxIlKf/2xjzJSHif4cVM=
    """)
    assert (found.kind, found.derivation, found.specified) == (
        "hash-mismatch", "vm-test", "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
