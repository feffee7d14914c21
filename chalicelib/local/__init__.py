"""The local stack: moto as the embedded AWS, and drivers that stand in for Lambda triggers."""
