"""An example of a wirepub plugin package: a format (and, beside it, whatever else a plugin brings),
registered through entry points in its dist-info, the way an installed package's would be."""
