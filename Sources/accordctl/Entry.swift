import AccordCLI

@main
enum Entry {
    static func main() async {
        await AccordCtl.runMain()
    }
}
