"""The configuration: one TOML file loaded into frozen, typed dataclasses.

`load_config(path)` and `parse_config(text)` read, substitute `${ENV_VAR}`s,
validate every key and raise one `ConfigError` listing every problem, each as
`key.path: what was wrong; expected what`.  Unknown keys and sections are
problems too: a typo must not be silently ignored.
"""

from telemetry.config.model import (
    ALERT_CONDITIONS,
    PAGE_GROUPS,
    PAGE_RANGES,
    AlertRule,
    AuthConfig,
    CommandConfig,
    Config,
    FilterSpec,
    HistoryConfig,
    IngestConfig,
    LimitsConfig,
    MqttConfig,
    NotifyConfig,
    PageConfig,
    RecordConfig,
    SerialConfig,
    SeriesRule,
    ServerConfig,
    Subscription,
    SystemConfig,
)
from telemetry.config.sections import (
    MAX_ROLLUPS,
    PRECISIONS,
    build_config,
    load_config,
    make_normalizer,
    parse_config,
)

__all__ = [
    "ALERT_CONDITIONS",
    "MAX_ROLLUPS",
    "PAGE_GROUPS",
    "PAGE_RANGES",
    "PRECISIONS",
    "AlertRule",
    "AuthConfig",
    "CommandConfig",
    "Config",
    "FilterSpec",
    "HistoryConfig",
    "IngestConfig",
    "LimitsConfig",
    "MqttConfig",
    "NotifyConfig",
    "PageConfig",
    "RecordConfig",
    "SerialConfig",
    "SeriesRule",
    "ServerConfig",
    "Subscription",
    "SystemConfig",
    "build_config",
    "load_config",
    "make_normalizer",
    "parse_config",
]
