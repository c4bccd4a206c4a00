from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from ureport.models import RunStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_share_results')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='FlowRun',
            name='status',
            field=fields.CharEnumField(default=RunStatus.ACTIVE, description='ACTIVE: active\nCOMPLETED: completed\nEXPIRED: expired\nINTERRUPTED: interrupted\nFAILED: failed\nCLOSED: closed', enum_type=RunStatus, max_length=16),
        ),
        ops.AddField(
            model_name='OutboundMessage',
            name='poll_id',
            field=fields.IntField(null=True),
        ),
        ops.AddIndex(
            model_name='OutboundMessage',
            index=Index(fields=['status', 'id']),
        ),
        ops.AddIndex(
            model_name='OutboundMessage',
            index=Index(fields=['poll_id', 'status']),
        ),
        ops.AddIndex(
            model_name='OutboundMessage',
            index=Index(fields=['contact_id', 'sent_at']),
        ),
        ops.AddField(
            model_name='Poll',
            name='close_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Poll',
            name='cohort',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Poll',
            name='reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Poll',
            name='reminder_hours',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Poll',
            name='start_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
