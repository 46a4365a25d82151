"""Service layer: the only code that writes to the database and commits.

Services never touch ``flask.request``: views turn requests into plain arguments.
"""
