"""Heatmap backdrops: when browsers are asked for DOM snapshots (capture), how an upload is checked and
cleaned (upload, sanitise), how snapshots are stored and read (snapshots), and the capture module's
bodies (module). docs/heatmaps.md tells the story."""
