from livinglab.models import Channel, ChannelActivity


def private_storage():
    from django.core.files.storage import storages

    return storages["private"]


class B2BActivity(ChannelActivity):
    """Abstract: an activity of the B2B channel (introductions, projects, events)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.channel = Channel.B2B
        super().save(*args, **kwargs)
