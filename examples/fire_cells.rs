//! Debug (not committed): per-cell smoke cue map of a clip at given times.
//! cargo run --example fire_cells -- CLIP.mp4 FPS t1,t2,...
use estatewatch::analysis::fire::features::{Extractor, Grid, ZoneMap};
use estatewatch::analysis::fire::smoke::{Cue, SmokeModel, SmokeParams};
use estatewatch::analysis::ZoneMask;
use estatewatch::ingest::file::FileReader;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let fps: u32 = a[2].parse().unwrap();
    let times: Vec<i64> = a[3].split(',').map(|v| v.parse().unwrap()).collect();
    let g = Grid::new(640, 360);
    let zm = ZoneMap::new(&g, &[ZoneMask::full("f", g.w as u32, g.h as u32)], &[]);
    let mut ex = Extractor::new(g);
    let mut sm = SmokeModel::new(g.cells());
    let p = SmokeParams {
        max_ratio: vec![0.6],
        min_cells: vec![14.0],
    };
    let near = vec![false; g.cells()];
    let mut hist: std::collections::VecDeque<Vec<f32>> = Default::default();
    for fr in FileReader::open(std::path::Path::new(&a[1]), "c", 640, 360, fps).unwrap() {
        let fr = fr.unwrap();
        let t = fr.pts.unwrap().as_millis() as i64;
        let st = ex.process(&fr.rgb, &zm);
        let sk = sm.update(t as f64 / 1000.0, &st, &zm, &p, &near);
        hist.push_front(
            (0..g.cells())
                .map(|c| st.y_sum[c] as f32 / zm.active[c].max(1) as f32)
                .collect(),
        );
        hist.truncate(20);
        if times.iter().any(|x| (x - t).abs() < 50) {
            println!(
                "t={t} grey={} legend: v veil, e edge, j jumpy, + brighter>4, - darker<-4, . quiet",
                st.grey
            );
            for y in 0..g.gh {
                let mut line = String::new();
                for x in 0..g.gw {
                    let c = y * g.gw + x;
                    let n = zm.active[c] as f32;
                    let yy = st.y_sum[c] as f32 / n;
                    let [by, _, _, j] = sm.inspect(c);
                    line.push(match (sk[c], sm.cue(c)) {
                        (true, Cue::Veil) => 'v',
                        (true, _) => 'e',
                        _ if j >= 3.0 => 'j',
                        _ if yy - by > 4.0 => '+',
                        _ if yy - by < -4.0 => '-',
                        _ => '.',
                    });
                }
                println!("{y:2} {line}");
            }
            let rough = |c: usize| {
                let v: Vec<f32> = hist.iter().map(|h| h[c]).collect();
                (2..v.len())
                    .map(|k| (v[k - 2] - 2.0 * v[k - 1] + v[k]).abs())
                    .sum::<f32>()
                    / (v.len() - 2) as f32
            };
            let mut rr: Vec<f32> = (0..g.cells())
                .filter(|&c| sk[c] && sm.cue(c) == Cue::Veil)
                .map(rough)
                .collect();
            rr.sort_by(f32::total_cmp);
            let mut qq: Vec<f32> = (0..g.cells())
                .filter(|&c| !sk[c] && zm.active[c] > 0)
                .map(rough)
                .collect();
            qq.sort_by(f32::total_cmp);
            if !rr.is_empty() {
                println!("veil roughness p10 {:.2} p50 {:.2} p90 {:.2} | quiet cells p50 {:.2} p90 {:.2}", rr[rr.len()/10], rr[rr.len()/2], rr[rr.len()*9/10], qq[qq.len()/2], qq[qq.len()*9/10]);
            }
            let mut rs: Vec<f32> = (0..g.cells())
                .filter(|&c| sk[c] && sm.cue(c) == Cue::Veil)
                .map(|c| {
                    let n = zm.active[c] as f32;
                    st.grad_sum[c] as f32 / n / sm.inspect(c)[1].max(0.1)
                })
                .collect();
            rs.sort_by(f32::total_cmp);
            if !rs.is_empty() {
                println!(
                    "veil cells {} grad ratio p10 {:.2} p50 {:.2} p90 {:.2}",
                    rs.len(),
                    rs[rs.len() / 10],
                    rs[rs.len() / 2],
                    rs[rs.len() * 9 / 10]
                );
            }
            if let Some(cs) = std::env::var("CELL").ok() {
                for c in cs.split(',') {
                    let c: usize = c.parse().unwrap();
                    let n = zm.active[c] as f32;
                    println!(
                        "cell {c}: y {:.1} grad {:.1} chroma {:.1} | bg {:?}",
                        st.y_sum[c] as f32 / n,
                        st.grad_sum[c] as f32 / n,
                        st.chroma_sum[c] as f32 / n,
                        sm.inspect(c)
                    );
                }
            }
        }
    }
}
