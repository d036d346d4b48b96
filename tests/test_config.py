"""Site configuration: sympa.conf syntax, each kind of error, defaults, overrides, the secret."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from listtrack.config import ConfigError, load_site_config, parse_config_text, safe_url


def test_seed_lines_work_verbatim(write_config):
    write_config("tracking_delivery_status_notification on",
                 "tracking_message_disposition_notification on")
    site = load_site_config()
    assert site.tracking_delivery_status_notification == "on"
    assert site.tracking_message_disposition_notification == "on"


def test_defaults_without_a_file(instance):
    site = load_site_config()
    assert site.domain == "localhost"
    assert site.bounce_email_prefix == "bounce"
    assert site.tracking_retention_period == 90
    assert site.smtp_host == "localhost" and site.smtp_port == 25
    assert site.tracking_delivery_status_notification == "off"
    assert site.listmaster == "listmaster@localhost"
    assert site.db_url == f"sqlite:///{instance / 'listtrack.db'}"
    assert site.sources["domain"] == "built-in default"


def test_comments_blank_lines_tabs_and_sources(write_config):
    path = write_config("# site", "", "domain\tlists.example.org", "  smtp_port   2525  # no",
                        "tracking_retention_period 30")
    with pytest.raises(ConfigError):  # a trailing comment is not part of sympa.conf syntax
        load_site_config()
    path.write_text("# site\n\ndomain\tlists.example.org\nsmtp_port   2525\n"
                    "tracking_retention_period 30\n")
    site = load_site_config()
    assert site.domain == "lists.example.org"
    assert site.smtp_port == 2525
    assert site.sources["smtp_port"] == f"{path}:4"
    assert site.listmaster == "listmaster@lists.example.org"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["tracking_delivery_status_notification yes"],
         ":1: bad value 'yes' for 'tracking_delivery_status_notification' (allowed: on, off)"),
        (["tracking_message_disposition_notification sometimes"],
         "(allowed: on, on_demand, off)"),
        (["# c", "colour blue"], ":2: unknown key 'colour' (allowed keys: alert_quiet_period, "),
        (["domain a.org", "domain b.org"], ":2: duplicate key 'domain' (first set at "),
        (["smtp_port 70000"], "bad value '70000' for 'smtp_port' (allowed: a port number"),
        (["tracking_retention_period 0"], "(allowed: a number of days 1-3650)"),
        (["tracking_retention_period"], "bad value '(empty)'"),
        (["verp_rate 7%"], "(allowed: 0%, 2%, 5%, 10%, 20%, 25%, 33%, 50%, 100%)"),
        (["bounce_email_prefix bad+prefix"], "bad value 'bad+prefix' for 'bounce_email_prefix'"),
    ],
)
def test_each_error_names_file_line_and_allowed(write_config, lines, expected):
    path = write_config(*lines)
    with pytest.raises(ConfigError) as caught:
        load_site_config()
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_parse_config_text_is_pure():
    values, sources = parse_config_text("smtp_host 127.0.0.1\n", "x.conf")
    assert values == {"smtp_host": "127.0.0.1"} and sources == {"smtp_host": "x.conf:1"}


def test_listtrack_config_points_at_another_file(instance, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere.conf"
    other.write_text("domain other.example\n")
    monkeypatch.setenv("LISTTRACK_CONFIG", str(other))
    assert load_site_config().domain == "other.example"
    monkeypatch.setenv("LISTTRACK_CONFIG", str(tmp_path / "missing.conf"))
    with pytest.raises(ConfigError, match="no such file"):
        load_site_config()


def test_db_url_environment_override(write_config, monkeypatch):
    write_config("db_url sqlite:////srv/listtrack.db")
    assert load_site_config().db_url == "sqlite:////srv/listtrack.db"
    monkeypatch.setenv("LISTTRACK_DB_URL", "postgresql+psycopg://u@h/d")
    site = load_site_config()
    assert site.db_url == "postgresql+psycopg://u@h/d"
    assert site.sources["db_url"] == "environment LISTTRACK_DB_URL"


def test_secret_is_generated_once_private_and_kept(instance):
    first = load_site_config().secret_key
    secret_file = instance / "secret_key"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert load_site_config().secret_key == first
    assert len(first) >= 32


def test_secret_from_the_file_is_used(write_config, instance):
    write_config("secret_key a-long-enough-site-secret")
    assert load_site_config().secret_key == "a-long-enough-site-secret"
    assert not (instance / "secret_key").exists()


def test_safe_url_hides_the_password():
    assert safe_url("postgresql+psycopg://bob:s3cret@db/x") == "postgresql+psycopg://bob:***@db/x"
    assert safe_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert safe_url("postgresql+psycopg://lt:pa/ss@db/x") == "postgresql+psycopg://lt:***@db/x"
    assert safe_url("mysql+pymysql://u@h/d?password=s3&charset=utf8mb4") == \
        "mysql+pymysql://u@h/d?password=***&charset=utf8mb4"


def test_cli_reports_a_bad_file_in_one_line(write_config, cli_env):
    path = write_config("tracking_delivery_status_notification maybe")
    result = subprocess.run(["listtrack", "user", "add", "a@b.org", "--password-stdin"],
                            input="password1\n", capture_output=True, text=True, env=cli_env)
    assert result.returncode == 78
    assert result.stderr.strip().count("\n") == 0
    assert f"{path}:1: bad value 'maybe'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stdout + result.stderr


def test_cli_unreachable_database_is_one_line_without_password(instance, cli_env):
    cli_env["LISTTRACK_DB_URL"] = "postgresql+psycopg://postgres:hunter2@127.0.0.1:9/none"
    result = subprocess.run(["listtrack", "list", "create", "a@b.org", "--owner", "o@b.org"],
                            capture_output=True, text=True, env=cli_env)
    assert result.returncode != 0
    assert "hunter2" not in result.stderr
    assert "cannot reach the database at postgresql+psycopg://postgres:***@127.0.0.1:9/none" \
        in result.stderr
    assert result.stderr.strip().count("\n") == 0
