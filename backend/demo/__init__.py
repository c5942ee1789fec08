"""Demo data for ``make run``: realistic, fake, loaded only into an empty database."""
