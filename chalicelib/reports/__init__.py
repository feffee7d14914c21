"""Reports, pure: what each event adds to which counters, attribution credit, campaigns and
their spend, and the funnel, ROI and percentiles computed from counters."""
