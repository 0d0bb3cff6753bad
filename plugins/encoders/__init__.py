"""Frame / shop-image encoders sharing one interface: images (N, C, H, W) -> (embedding, tokens)."""
from .clip_vit import CLIPViTEncoder
from .timm_encoder import TimmEncoder

__all__ = ['CLIPViTEncoder', 'TimmEncoder']
