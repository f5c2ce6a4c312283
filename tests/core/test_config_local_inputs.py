"""Configuration: the `[[system]]` and `[[command]]` readers."""

from __future__ import annotations

import pytest

from telemetry.config import CommandConfig, SystemConfig, load_config, parse_config
from telemetry.config.local_inputs import default_system_name
from telemetry.normalize import SERIAL_FORMATS
from telemetry.summary import summarize
from tests.core.test_config import EXAMPLE, problems

FORMATS = [f'"{f}"' for f in SERIAL_FORMATS]


def test_config_system_defaults() -> None:
    (system,) = parse_config("[[system]]\n", env={}).system
    assert system == SystemConfig(name=default_system_name())
    assert (system.root, system.interval, system.rescan) == ("/", 10.0, 60.0)
    assert (system.thermal, system.w1, system.throttled) == (("*",), ("*",), True)


def test_config_system_kinds_take_switches_and_globs() -> None:
    (system,) = parse_config(
        '[[system]]\nname = "pi"\nhwmon = false\nw1 = ["28-0316*", "28-04*"]\n'
        'interval = "5s"\nthrottled = false\n',
        env={},
    ).system
    assert (system.name, system.interval, system.hwmon, system.w1, system.throttled) == (
        "pi",
        5.0,
        (),
        ("28-0316*", "28-04*"),
        False,
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'root = "sys"',
            'system[0].root: "sys" is not an absolute path; expected like "/"',
        ),
        (
            "w1 = 28",
            "system[0].w1: 28 is not true, false or a non-empty list of glob strings",
        ),
        (
            "iio = []",
            "system[0].iio: a list is not true, false or a non-empty list of glob strings",
        ),
        (
            'interval = "0s"',
            'system[0].interval: "0s" is out of range; expected from 100ms to 1d',
        ),
        ('throttled = "yes"', 'system[0].throttled: "yes" is not true or false'),
        ("thermals = true", "system[0].thermals: unknown key; did you mean 'thermal'?"),
    ],
)
def test_config_system_problems_are_named(line: str, expected: str) -> None:
    assert problems(f"[[system]]\n{line}\n") == [expected]


def test_config_system_name_must_be_a_device_name() -> None:
    assert problems('[[system]]\nname = "my pi"\n') == [
        'system[0].name: "my pi" is not a name of letters, digits, _.-'
    ]


def test_config_system_names_must_differ() -> None:
    assert problems('[[system]]\nname = "pi"\n[[system]]\nname = "pi"\n') == [
        'system[1].name: "pi" is used twice; names must differ'
    ]


def test_config_command_defaults_and_keys() -> None:
    (cmd,) = parse_config(
        '[[command]]\nname = "ups"\nargv = ["/usr/bin/upsc", "ups@localhost"]\n'
        'interval = "30s"\nformat = "kv"\nenv = { NUT_DEBUG = "0" }\n',
        env={},
    ).command
    assert cmd == CommandConfig(
        name="ups",
        argv=("/usr/bin/upsc", "ups@localhost"),
        interval=30.0,
        timeout=10.0,
        format="kv",
        env=(("NUT_DEBUG", "0"),),
    )
    assert cmd.route.device == "ups"


def test_config_command_timeout_defaults_to_at_most_the_interval() -> None:
    (cmd,) = parse_config('[[command]]\nname = "a"\nshell = "date +%s"\ninterval = "2s"\n').command
    assert (cmd.shell, cmd.argv, cmd.timeout) == ("date +%s", (), 2.0)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "",
            [
                "command[0].argv: give exactly one of argv (a list: the program and its "
                "arguments, run without a shell) and shell (a string run by /bin/sh -c)"
            ],
        ),
        (
            'argv = ["a"]\nshell = "a"',
            [
                "command[0].argv: give exactly one of argv (a list: the program and its "
                "arguments, run without a shell) and shell (a string run by /bin/sh -c)"
            ],
        ),
        (
            "argv = []",
            [
                "command[0].argv: expected a list of 1 to 256 strings, the first the program, "
                'like ["/usr/bin/sensors", "-j"]'
            ],
        ),
        ('argv = ["a", 1]', ["command[0].argv[1]: 1 is not a string"]),
        ('shell = " "', ["command[0].shell: is empty; expected a command line for /bin/sh -c"]),
        (
            'argv = ["a"]\nformat = "tasmota"',
            [f'command[0].format: "tasmota" is not one of {", ".join(FORMATS)}'],
        ),
        (
            'argv = ["a"]\ntimeout = "-1s"',
            [
                'command[0].timeout: "-1s" is not a duration such as "250ms", "10s", '
                '"10m", "1h30m" or "30d"'
            ],
        ),
        (
            'argv = ["a"]\nmax_output = "0"',
            ['command[0].max_output: "0" is out of range; expected from 1B to 16MiB'],
        ),
        (
            'argv = ["a"]\nenv = { "1X" = "a" }',
            ["command[0].env.1X: is not an environment variable name"],
        ),
        ('argv = ["a"]\nenv = { X = 1 }', ["command[0].env.X: 1 is not a string"]),
        (
            'argv = ["a"]\nsplit = "words"',
            ['command[0].split: "words" is not one of "lines", "none"'],
        ),
        # A NUL cannot be passed to a program: starting it would raise, every run.
        (
            'argv = ["/bin/echo", "a\\u0000b"]',
            ["command[0].argv[1]: holds a NUL character, which no program can be given"],
        ),
        (
            'shell = "echo 1\\u0000"',
            ["command[0].shell: holds a NUL character, which no program can be given"],
        ),
        (
            'argv = ["a"]\nenv = { X = "a\\u0000" }',
            ["command[0].env.X: holds a NUL character, which no program can be given"],
        ),
    ],
)
def test_config_command_problems_are_named(lines: str, expected: list[str]) -> None:
    assert problems(f'[[command]]\nname = "c"\n{lines}\n') == expected


def test_config_command_without_a_name_is_refused() -> None:
    assert problems('[[command]]\nargv = ["a"]\n') == [
        "command[0].name: is missing; it is required"
    ]


def test_check_config_lists_system_and_command_readers() -> None:
    config = parse_config(
        '[[system]]\nname = "pi"\nw1 = ["28-*"]\niio = false\n'
        '[[command]]\nname = "ups"\nargv = ["/usr/bin/upsc", "ups"]\nformat = "kv"\n',
        env={},
    )
    text = summarize(config, "pi.toml")
    assert (
        "system pi: / every 10s (rescan 1m): thermal *, hwmon *, w1 28-*, iio none, "
        "throttled flags" in text
    )
    assert (
        "command ups: /usr/bin/upsc ups every 1m, timeout 10s, format kv, output cap 64KiB" in text
    )
    assert "no readers configured" not in text


def test_config_example_has_a_system_and_a_command_reader() -> None:
    config = load_config(EXAMPLE, env={"MQTT_PASSWORD": "x"})
    (system,) = config.system
    (cmd,) = config.command
    assert (system.name, system.w1) == ("pi", ("28-*",))
    assert (cmd.name, cmd.argv[0], cmd.format, cmd.env) == (
        "core",
        "/usr/bin/vcgencmd",
        "kv",
        (("LC_ALL", "C"),),
    )


def test_config_command_env_values_are_never_shown() -> None:
    config = parse_config(
        '[[command]]\nname = "a"\nargv = ["x"]\nenv = { TOKEN = "${T}" }\n', env={"T": "s3cret"}
    )
    (cmd,) = config.command
    assert cmd.env == (("TOKEN", "s3cret"),)
    assert "s3cret" not in repr(cmd)
    assert "s3cret" not in summarize(config, "c.toml")


def test_config_http_ingest_name_must_not_be_a_system_or_command_readers() -> None:
    assert problems('[ingest]\nhttp = true\nsource = "pi"\n[[system]]\nname = "pi"\n') == [
        'ingest.source: "pi" is a reader\'s name too; give HTTP ingest a name of its own'
    ]
