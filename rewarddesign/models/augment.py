"""What a reward model trains on besides its labelled pairs: crops of each pair (QPA's
data augmentation, SURF's temporal cropping) and pseudo-labels of unlabelled pairs
(SURF), both as tensors for :class:`~rewarddesign.models.RewardTrainer`."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def crop_masks(
    valid1: np.ndarray,
    valid2: np.ndarray,
    H: int,
    low: int,
    high: int,
    copies: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Step masks of ``copies`` crops of each pair, both segments of a pair cut to one
    length drawn in ``[low, high]`` (shortened to the shorter segment's valid steps)
    at independent starts, inside each segment's valid steps (a prefix: padding is at
    the end).

    Args:
        valid1: Valid steps of the first segments, any leading shape ``S``.
        valid2: The same for the second segments.
        H: Steps per segment.
        low: Shortest crop.
        high: Longest crop.
        copies: Crops per pair.
        rng: The generator of lengths and starts.

    Returns:
        Two bool arrays ``(copies, *S, H)``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> m1, m2 = crop_masks(np.array([5]), np.array([3]), 5, 4, 4, 2, rng)
        >>> m1.sum(-1).tolist(), m2.sum(-1).tolist()  # cut to the 3 valid steps of the second
        ([[3], [3]], [[3], [3]])
    """
    shape = (copies, *np.shape(valid1))
    length = np.minimum(rng.integers(low, high + 1, size=shape), np.minimum(valid1, valid2))
    start1 = rng.integers(0, valid1 - length + 1)
    start2 = rng.integers(0, valid2 - length + 1)
    t = np.arange(H)
    inside1 = (t >= start1[..., None]) & (t < (start1 + length)[..., None])
    inside2 = (t >= start2[..., None]) & (t < (start2 + length)[..., None])
    return inside1, inside2


def pseudo_label_loss(
    diff: torch.Tensor, tau: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SURF's loss on unlabelled pairs: where a member's ``P(first) = sigmoid(diff)``
    or its complement exceeds ``tau``, the confident side is the label.

    Args:
        diff: ``(members, B)`` predicted return differences (with gradient).
        tau: The confidence threshold, in (0.5, 1).

    Returns:
        The loss (sum over members of the mean over the batch, zero where not
        confident), the accepted mask ``(members, B)`` and the pseudo-labels.

    Example:
        >>> loss, mask, label = pseudo_label_loss(torch.tensor([[5.0, 0.1, -6.0]]), 0.95)
        >>> mask.tolist(), label.tolist()
        ([[True, False, True]], [[1.0, 1.0, 0.0]])
    """
    with torch.no_grad():
        p = torch.sigmoid(diff)
        label = (p > 0.5).to(diff.dtype)
        mask = torch.maximum(p, 1 - p) > tau
    losses = F.binary_cross_entropy_with_logits(diff, label, reduction="none")
    return (losses * mask).mean(dim=1).sum(), mask, label
