"""The comments domain: posting (post, edit, delete), reading (pages, cache), reactions (votes,
reports), serializers, and a reader's data rights over their comments (privacy).

Domain code owns its transactions and never touches ``flask.request``: surfaces turn requests
into plain arguments. Top of the domain layers: it may use moderation, jobs and identity.
"""
