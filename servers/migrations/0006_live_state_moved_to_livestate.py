from django.db import migrations


class Migration(migrations.Migration):
    """The live state now lives in livestate.LiveStatus (moved by its 0003)."""

    dependencies = [
        ("servers", "0005_rcon_auth_backoff"),
        ("livestate", "0003_move_live_state_from_servers"),
    ]

    operations = [
        migrations.RemoveField(model_name="server", name="actual_state"),
        migrations.RemoveField(model_name="server", name="actual_state_updated_at"),
        migrations.RemoveField(model_name="server", name="last_error"),
        migrations.RemoveField(model_name="server", name="rcon_auth_failed_at"),
        migrations.RemoveField(model_name="server", name="rcon_auth_failed_fingerprint"),
    ]
