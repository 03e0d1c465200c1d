"""Heatmaps a person can see: DOM snapshots captured in visitors' browsers, the live overlay, image export."""
