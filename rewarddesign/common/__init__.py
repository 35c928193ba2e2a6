"""What every room uses: packaged data and safe files, checks of user values, the version."""
