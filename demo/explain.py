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
    "mask spilled over. A small learned click model (trained on still images with object masks) "
    "turns the clicks and the current mask into a new mask; a remove-click only ever takes "
    "pixels away and an add-click only adds them; a click on the spot of an earlier click of "
    "the other kind replaces it; erasing all of an object on a frame marks it absent there, "
    "so the next pass stops following it (*classic* uses GrabCut, a colour-based "
    "cut-out, instead). With several objects, each pixel belongs to one: a click keeps what "
    "another object already holds unless it lands on it (then it takes the part of that "
    "object it points at), and the brush takes what it covers. "
    "You can annotate any frame: a correction on frame *k* takes over from "
    "there when you propagate again, and frames before *k* keep their result. A mask made "
    "elsewhere can be the shown frame's annotation: **Import mask (PNG)** (a palette PNG sets "
    "every object by its id; a black-and-white one sets the selected object)."
)

PAINT = (
    "The frame shows the selected object's current mask (tinted). Drag with the **brush** to "
    "add to it or with the **eraser** to remove from it (dark strokes); everything you do not "
    "touch is kept. Press **Use painted mask** to apply the strokes to this frame (**Undo last "
    "edit**, on the Click tab, takes an applied painting back, with the clicks it replaced), or "
    "**Discard strokes**. The line above the frame says when painting is possible: until the "
    "frame has loaded, input is disabled, so no stroke is lost."
)

ADVANCED = (
    "**Apply settings** empties the memory: propagate again. The numbers are J&F (the mean of "
    "mask overlap and outline accuracy, in %; higher is better) on six held-out DAVIS clips, "
    "measured on earlier weights (94.4 with the defaults; the weights shipped now read 94.3 "
    "there).\n\n"
    "- **Memory every** — how often a processed frame is stored as long-term (global) memory. "
    "Every 1 / 3 / 10 frames: 91.9 / 93.4 / 94.5. Storing every frame fills the cap with the "
    "last few frames, so a mistake feeds on itself: that is worse than storing none (92.8).\n"
    "- **Top-k** — each pixel reads only from its *k* most similar memory pixels, which ignores "
    "faint, noisy matches. 10 or 50 give the same masks as 20: the trained read puts nearly all "
    "its weight on its best few matches.\n"
    "- **Local frame** — which earlier frame (t − s) the alignment module uses as short-term "
    "memory. t − 2: 94.4.\n"
    "- **Working-memory cap** — at most this many stored frames besides your annotations; the "
    "oldest is forgotten first, so memory does not grow with the video. 5 / 20: 94.3 / 94.4.\n"
    "- **Pin** makes the current frame permanent memory, like an annotation, when it is already "
    "stored: every *Memory every*-th frame a pass processes (counted from the frame it starts "
    "on, which itself is stored only when it is annotated or memory was empty). "
    "Permanent memory holds at most 20 frames; past that, the oldest after the first goes.\n"
    "- **Mirror averaging** runs every frame a second time mirrored left-right, with its own "
    "memory, and averages the two answers: 94.6, at half the speed (the Look-inside views show "
    "the plain pass).\n"
    "- **Online adaptation** first trains a copy of the network for this many steps on warped "
    "versions of your annotated frames (the object turned, stretched, recoloured), so it knows "
    "*your* object before the video starts. The shared network is never changed, and the "
    "Ablation tab reruns its variants with the adapted weights too. 100 steps: 95.4 (4 of the "
    "6 clips better, one worse), about 75 s on a 2-core CPU (far less on a GPU). 30 steps did "
    "as well on single objects but not on two-object clips (92.0 against 92.5 unadapted, 93.6 "
    "after 100 steps), so use 100. It runs once, before the first pass after Apply settings; a "
    "later correction is followed with the same adapted weights."
)

PTM = (
    "The **Prototype Transformer** condenses everything memory says about the object into one "
    "summary vector, a *prototype*, and refines it in three layers. Every layer also guesses a "
    "rough mask of its own. **First row**: each layer's guess against the final mask — "
    "green = both say object, orange = only this layer, blue = only the final mask; the number "
    "is their overlap (IoU, 1 = identical). These guesses are coarse, one value per 16x16-pixel "
    "cell read off each layer's features: if they look alike, the later layers change the "
    "object's rough extent little. The final outline is the decoder's, drawn from the finer "
    "stride-8 and stride-4 features."
)

PTM_ASSIGN = (
    "**Second row — which prototype each pixel picks.** In every layer each pixel chooses "
    "between the object's prototype and a learned *background* prototype (red = object, "
    "blue = background; white line = the final mask). The caption gives the average choice on "
    "the object and on the rest of the frame. A layer whose two numbers are far apart really "
    "separates object from background (if the object's number is the low one, that layer has "
    "swapped the roles of its two prototypes); a layer whose numbers are close uses the two "
    "prototypes for something else, so its map does not look like the object and should not "
    "be read as one. The line under the images says which layer does what on this frame."
)

PTM_ATTENTION = (
    "**Third row — where each prototype looks** (colour = attention against an even spread "
    "over the frame: blue = none, red = 8x even or more, the same scale in every panel; the "
    "caption says how much of it falls on the object, and the peak). A layer "
    "can gather from one or two spots of background instead: such a spot is not 'where the "
    "object is' — read the percentage, not the hot spot."
)

FAM = (
    "The **Feature Alignment Module** uses an earlier frame (t − s, the *Local frame* setting; "
    "t + s going backward) as short-term memory. It shifts each part of that frame's memory "
    "features by a learned offset, refines them with a deformable convolution, and merges the "
    "result with what long-term memory read.\n\n"
    "- **Arrows** — each starts at a point of this frame and ends where FAM's first shift "
    "fetches from in the earlier frame, after subtracting the frame's median offset (a camera "
    "pan, or a constant the network learned; its value is in the caption). A motion tracker's "
    "arrows would point against the motion; this model's mostly do not (see below). They are "
    "drawn on and around the object (white outline) and where offsets are large.\n"
    "- **Colours** — the same offsets over the whole frame (colour = direction, see the key; "
    "strong colour = long; faded away from the object).\n"
    "- **Modulation** — the 0-to-1 weight the deformable convolution gives each sample of the "
    "aligned frame, averaged over its 9 taps (red = high, blue = low).\n\n"
    "On the *teaching* example the car's true motion is known (README: how far FAM's arrows "
    "are from it): on this trained model the offsets are learned features, not an optical "
    "flow, so expect them to disagree with the visible motion."
)

FAM_ALIGN = (
    "**Alignment check** — the local-memory frame FAM aligns (the previous frame; the next "
    "one on a backward pass), outlined with its own mask; how different it is from the "
    "current frame (bright = different; the current frame's outline); and how different it "
    "is after being warped by FAM's offsets. If "
    "FAM followed the visible motion, the right panel would be darker than the middle one on "
    "the object. The caption gives both numbers; the sentence below says what happened here."
)

MEMORY = (
    "Memory is matched on a grid of 16x16-pixel cells: each cell of the current frame is compared"
    " with every cell stored in memory and reads the object information of its most similar "
    "matches (the *top-k*). **Click a pixel** on the frame: its cell (green box) is the query, "
    "and the panels show the memory frames it reads most from (up to six; frame number, share of "
    "its reading), with its top-k read points circled (bigger circle = more weight; points under "
    "0.5 % of the weight are left out), the read weight as colour (red = the strongest read) and "
    "the objects that frame was memorised with outlined: a cell whose reads land inside an "
    "outline leans towards that object (the later modules and the decoder still act), which is "
    "how a mistake stored in memory spreads to later frames. The timeline shows which frames are "
    "in memory while this frame is processed: *permanent* (your annotations and pinned frames), "
    "*working* (stored every few frames, oldest forgotten first) and *local* (frame t − s, "
    "normally the previous frame, or the next one on a backward pass; used by FAM). Click the "
    "timeline to go to a frame."
)

CONFIDENCE = (
    "Click either plot to go to that frame.\n\n"
    "- **Confidence** (upper plot) — how sure the network is on each frame, pooled over all "
    "objects: 1 means every pixel is clearly object or clearly background; it drops as the "
    "doubtful pixels grow against the objects' area. "
    "The lowest point (red) is where the model is least sure: worth a look, and if the mask is "
    "wrong there, fix it with a few clicks and propagate again from that frame. It is not a "
    "measure of error: on the held-out clips, correcting the least confident frame helped no "
    "more than correcting the middle frame (README).\n"
    "- **Size** (lower plot) — confidence hardly sees one *lost* object among others: its "
    "pixels become confidently background, and the other objects keep the pooled score high. "
    "This plot does: each object's size relative to your annotation of it, one line per "
    "object in its colour. A line that drops under the dashed line (a fifth of the annotated "
    "size) means the object was lost there, or hidden, or left the frame; the line above the "
    "tabs names the lost frame nearest to an annotation (where a pass lost it). The scale "
    "stops at 3x, so that the line stays readable: an object that grew past it (it came "
    "closer) is named at the top with its largest size."
)

ABLATION = (
    "An *ablation* switches one part off and reruns the clip with the same trained weights "
    "(about one propagation per network variant; the flow is fast). The README's ablation "
    "table gives what each costs in J&F over the project's held-out DAVIS clips.\n\n"
    "- **FAM off** — the short-term memory (the previous frame) is not used.\n"
    "- **PTM off** — the prototype refinement is skipped.\n"
    "- **Frozen memory** — the long-term memory keeps only your annotated frames and no "
    "processed frame joins it, so every frame is matched against your annotations alone (the "
    "previous frame still reaches FAM): what remembering the video as it goes adds.\n"
    "- **Optical flow, no network** — no learning at all: each mask is warped to the next frame "
    "along the motion OpenCV's DIS flow measures, and your later annotations take over where "
    "they are, which is how video masks were carried before memory networks. It drifts a "
    "little every frame and cannot bring back what an occluder covered: compare its panel on "
    "the last frames.\n"
    "- **Not adapted** (only with *online adaptation* on, Advanced) — the network as it was "
    "trained; every other variant then uses the adapted weights.\n\n"
    "The full model is rerun too, the same way as the variants (forward from the first "
    "annotated frame, then backward from the latest frame on which an object first "
    "appears), so a score shows only what its switch changes, not your "
    "own corrections. After the rerun the Frame slider jumps to the frame where the network "
    "variants differ most from the full model (move it to compare any other frame). The "
    "panels paint the pixels each variant adds (magenta), loses (cyan) or gives to another "
    "object (yellow). On an easy clip such as *bear* the memory read alone already finds the "
    "object, so the masks barely change; the painted pixels show where even a small "
    "difference lies."
)

EXPORT = (
    "Download the overlay video (H.264 mp4), every mask as a DAVIS palette PNG (pixel value = "
    "object id; the format video-segmentation benchmarks use), black-and-white masks per object, "
    "or RGBA cut-outs of the selected object or of all objects (transparent background, ready "
    "for a video editor). "
    "Files are named by the source frame number (a zip of frames: like its files), so a "
    "trimmed clip's masks line up with your video's frames; at the source resolution each "
    "mask's outline is interpolated from the working-size result, not segmented again."
)


def device_banner(device_type: str, fps: float | None, short_side: int, max_frames: int,
                  random_weights: bool, note: str = "") -> str:
    """The header line: where the model runs, how fast, the limits, and any warning."""
    speed = (f"measured {fps:.1f} frames per second at start-up (each clip's status line "
             "gives the expected time, updated from the last propagation)" if fps else
             "expect a few frames per second")
    where = ("Running on a GPU" if device_type == "cuda" else
             f"Running on CPU: {speed}")
    text = (f"{where} · clips with a short side over {short_side} px are reduced to it (a "
            "smaller, faster size: Trim and subsample; smaller clips run at their own size) "
            f"and capped at {max_frames} frames.")
    if random_weights:
        text += (" **Debug mode: the network has random (untrained) weights**, so masks and "
                 "internals are meaningless; the pipeline and views still work.")
    return text + (f" {note}" if note else "")
