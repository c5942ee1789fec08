"""Item kinds: the taxonomy of matching/data/items.csv plus county extensions."""
