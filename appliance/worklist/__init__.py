"""The Modality Worklist: items, their store, matching and the C-FIND service."""
