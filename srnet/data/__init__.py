"""Training and evaluation data: DAVIS / YouTube-VOS readers (`davis`), augmentation primitives
(`augment`), clip samplers (`clips`, `paste`) and the mixing training `Dataset` (`dataset`)."""

from srnet.data.clips import ClipInfo, VideoClip, sample_static_clip, sample_video_clip
from srnet.data.dataset import ClipDataset, CurriculumSchedule
from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset, train_val_split, youtube_vos
from srnet.data.paste import paste_object

__all__ = ["DEFAULT_HOLDOUT", "ClipDataset", "ClipInfo", "CurriculumSchedule", "VOSDataset",
           "VideoClip", "paste_object", "sample_static_clip", "sample_video_clip",
           "train_val_split", "youtube_vos"]
