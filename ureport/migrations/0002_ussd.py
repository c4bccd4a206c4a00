from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='UssdSession',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='ussd_sessions', on_delete=OnDelete.CASCADE)),
                ('urn_digest', fields.CharField(max_length=80)),
                ('service_code', fields.CharField(max_length=32)),
                ('path_cipher', fields.TextField(unique=False)),
                ('hops', fields.IntField(default=0)),
                ('state', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('screen', fields.TextField(unique=False)),
                ('screen_id', fields.CharField(max_length=64)),
                ('run_id', fields.UUIDField(null=True)),
                ('ended', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ussd_session', 'app': 'models', 'indexes': [Index(fields=['contact_id', 'updated_at'])], 'pk_attr': 'id', 'table_description': "One USSD session between hops, keyed by the gateway's sessionId: digest only, never a number."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UssdSessionEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session_id', fields.CharField(unique=True, max_length=128)),
                ('status', fields.CharField(max_length=16)),
                ('duration_ms', fields.IntField(null=True)),
                ('hops', fields.IntField(null=True)),
                ('error', fields.CharField(null=True, max_length=255)),
                ('last_screen_id', fields.CharField(null=True, max_length=64)),
                ('network_code', fields.CharField(null=True, max_length=16)),
                ('cost', fields.CharField(null=True, max_length=32)),
                ('urn_digest', fields.CharField(null=True, max_length=80)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ussd_session_event', 'app': 'models', 'indexes': [Index(fields=['last_screen_id', 'status'])], 'pk_attr': 'id', 'table_description': "The gateway's end-of-session notification, once per session: how and where people drop off."},
            bases=['Model'],
        ),
    ]
