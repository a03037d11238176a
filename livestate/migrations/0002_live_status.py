import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("livestate", "0001_initial"),
        ("servers", "0005_rcon_auth_backoff"),
    ]

    operations = [
        migrations.CreateModel(
            name="LiveStatus",
            fields=[
                (
                    "server",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="live_status",
                        serialize=False,
                        to="servers.server",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("unknown", "Unknown"),
                            ("running", "Running"),
                            ("unreachable", "Unreachable"),
                            ("auth_failed", "RCON password rejected"),
                            ("error", "Error"),
                        ],
                        default="unknown",
                        max_length=16,
                    ),
                ),
                ("polled_at", models.DateTimeField(blank=True, help_text="Last poll, answered or not.", null=True)),
                ("answered_at", models.DateTimeField(blank=True, help_text="Last answer.", null=True)),
                ("error", models.TextField(blank=True, default="")),
                ("players", models.PositiveSmallIntegerField(default=0)),
                ("max_players", models.PositiveSmallIntegerField(default=0)),
                ("bots", models.PositiveSmallIntegerField(default=0)),
                ("map", models.CharField(blank=True, default="", max_length=64)),
                ("hibernating", models.BooleanField(default=False)),
                (
                    "snapshot",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="livestate.livestatesnapshot",
                    ),
                ),
                ("auth_failed_at", models.DateTimeField(blank=True, null=True)),
                ("auth_failed_fingerprint", models.CharField(blank=True, default="", max_length=16)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("lease_token", models.CharField(blank=True, default="", max_length=32)),
            ],
            options={"verbose_name_plural": "live statuses"},
        ),
    ]
