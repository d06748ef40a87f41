"""Text analytics for hotline tickets: masking, segmentation, reply types, items, rights, hot issues."""
