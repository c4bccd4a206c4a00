from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from ureport.models import Role
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_broadcasts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=80)),
                ('failures', fields.IntField(default=0)),
                ('window_started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_throttle', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Failed log-ins per account and per client address (digests), to slow down password guessing.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharEnumField(description='ADMIN: admin\nAMBASSADOR: ambassador\nVIEWER: viewer', enum_type=Role, max_length=16)),
                ('language', fields.CharField(null=True, max_length=8)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'app_user', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A staff account (admin, ambassador, viewer): never a respondent, so the e-mail is kept in clear.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserDistrict',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='districts', on_delete=OnDelete.CASCADE)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name='ambassadors', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'user_district', 'app': 'models', 'unique_together': (('user', 'location'),), 'pk_attr': 'id', 'table_description': 'The districts an ambassador answers for: their restricted pages show these and no others.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=80)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('csrf_token', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'web_session', 'app': 'models', 'pk_attr': 'id', 'table_description': "A signed-in browser. The id is a digest of the cookie's token, so a database copy opens no session."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Contact',
            name='undeliverable_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Contact',
            name='undeliverable_reason',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Poll',
            name='published',
            field=fields.BooleanField(default=True),
        ),
    ]
