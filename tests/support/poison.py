"""Fault injection inside the database: a trigger that fails every insert of one address."""

from __future__ import annotations

from sqlalchemy import Engine, text

POISON_ADDRESS = "poison@example.com"


def install_poison_trigger(engine: Engine) -> None:
    """Make every INSERT of an email_callback row for POISON_ADDRESS fail, as a bad row would."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON email_callback "
                    f"WHEN NEW.email = '{POISON_ADDRESS}' "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.email = '{POISON_ADDRESS}' THEN "
                "RAISE EXCEPTION 'poisoned row' USING ERRCODE = 'check_violation'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON email_callback "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )
        )


def remove_poison_trigger(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER poison"))
        else:
            conn.execute(text("DROP TRIGGER poison ON email_callback"))
            conn.execute(text("DROP FUNCTION poison()"))


def poison_body(tag: str) -> dict[str, object]:
    """A well-formed report that the poison trigger refuses to store."""
    return {
        "results": [
            {
                "messageId": f"poison-{tag}",
                "to": POISON_ADDRESS,
                "status": {"groupName": "DELIVERED"},
                "doneAt": "2024-07-16T17:26:54.966-0300",
            }
        ]
    }
