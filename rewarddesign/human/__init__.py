"""Labels from people: segment videos, a labelling session that keeps every answer, and
the local web app that shows pairs side by side (``rewarddesign label-ui``)."""
