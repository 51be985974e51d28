"""wirepub: approved stories in, schema-valid wire documents out, delivered where partners want them."""

__version__ = "0.1.0"
