"""Plain-language explanations shown beside each view of the demo, written for learners who
know what a neural network is but have not read the SRNet paper. Markdown strings only."""

from __future__ import annotations

INTRO = (
    "**SRNet** follows objects through a video. You mark an object on one frame; the network "
    "then remembers what it looks like (its *memory*) and finds it again frame after frame. "
    "Load a clip, mark the object, press **Propagate**, then open **Look inside** to see how "
    "each part of the network contributed."
)

ANNOTATE = (
    "Click on the object to add a **positive** point, or switch to *remove* and click where the "
    "mask spilled over. Each click re-runs a classic colour-based cut-out (GrabCut) so the mask "
    "appears at once. You can annotate any frame: a correction on frame *k* takes over from "
    "there when you propagate again, and frames before *k* keep their result."
)

PAINT = (
    "Paint the object with the brush or erase parts of the current mask, then press **Use "
    "painted mask**. The painted layer is the mask: its colour does not matter, only where you "
    "painted."
)

ADVANCED = (
    "**Memory every** — how often a processed frame is stored as long-term (global) memory. "
    "**Top-k** — each pixel reads only from its *k* most similar memory pixels, which ignores "
    "faint, noisy matches. **Local frame** — which earlier frame (t − s) the alignment module "
    "uses as short-term memory. **Working-memory cap** — at most this many stored frames besides "
    "your annotations; the oldest is forgotten first, so memory does not grow with the video. "
    "Changing them empties the memory: propagate again. **Pin** makes the current frame "
    "permanent memory, like an annotation."
)

PTM = (
    "The **Prototype Transformer** condenses everything memory says about the object into one "
    "summary vector, a *prototype*, and refines it in three layers. In each layer the prototype "
    "looks at the frame (the *attention* maps: bright = where it looks) and the frame's features "
    "are pulled towards it. Every layer also makes a rough *auxiliary mask* (red = object); "
    "reading them from layer 1 to 3 shows the mask getting sharper as the prototype improves. "
    "With untrained weights these maps are noise."
)

FAM = (
    "The **Feature Alignment Module** uses the previous frame as short-term memory. Objects move, "
    "so before comparing, it learns where each part of the previous frame went: the arrows and "
    "colours show these offsets (colour = direction, brightness = distance, see the key). "
    "Warping the previous frame by them gives the *aligned auxiliary frame*, which should line "
    "up with the current one. The last map is the *modulation*: how much the network trusts "
    "each aligned sample (bright = trusted)."
)

MEMORY = (
    "Each pixel of the current frame is matched against every pixel stored in memory and reads "
    "the object information of its most similar matches. **Click a pixel** on the left: the "
    "maps show where it reads from in each memory frame and how much of its reading comes from "
    "that frame. The timeline shows which frames are in memory while this frame is processed: "
    "*permanent* (your annotations and pinned frames), *working* (stored every few frames, "
    "oldest forgotten first) and *local* (the previous frame used for alignment)."
)

CONFIDENCE = (
    "How sure the network is on each frame: 1 means every pixel is clearly object or clearly "
    "background; it drops when many pixels are in between. The lowest point (red) is the frame "
    "most worth correcting: jump there, fix the mask with a few clicks, and propagate again "
    "from that frame."
)

ABLATION = (
    "An *ablation* switches one part off and reruns the clip. **FAM off**: the short-term memory "
    "is not used. **PTM off**: the prototype refinement is skipped. The same trained weights are "
    "used for everything else, so differences show what each module adds to this network (IoU = "
    "overlap with the full model's masks, 1 = identical)."
)

EXPORT = (
    "Download the overlay video (H.264 mp4), every mask as a DAVIS palette PNG (pixel value = "
    "object id; the format video-segmentation benchmarks use), black-and-white masks per object, "
    "or RGBA cut-outs of the selected object (transparent background, ready for a video editor)."
)


def device_banner(device_type: str, fps: float | None, short_side: int, max_frames: int,
                  random_weights: bool, note: str = "") -> str:
    """The header line: where the model runs, how fast, the limits, and any warning."""
    speed = f"expect ~{fps:.1f} fps" if fps else "expect a few frames per second"
    where = ("Running on a GPU" if device_type == "cuda" else
             f"Running on CPU: {speed}")
    text = (f"{where} · clips are resized to a short side of {short_side} px and capped at "
            f"{max_frames} frames.")
    if random_weights:
        text += (" **Debug mode: the network has random (untrained) weights**, so masks and "
                 "internals are meaningless; the pipeline and views still work.")
    return text + (f" {note}" if note else "")
