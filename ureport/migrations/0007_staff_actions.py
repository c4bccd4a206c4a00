from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StaffAction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=254)),
                ('action', fields.CharField(max_length=40)),
                ('subject', fields.CharField(max_length=254)),
                ('detail', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'staff_action', 'app': 'models', 'pk_attr': 'id', 'table_description': "Who did what to an account or a poll, and when: staff accountability, no respondent's data."},
            bases=['Model'],
        ),
    ]
