"""The local stack: ministack as the embedded AWS, and drivers that stand in for Lambda triggers."""
